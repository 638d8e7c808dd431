#pragma once

// A plain blocking TCP client for loopback tests. Every socket gets a receive/send timeout
// as a safety net so a broken proxy fails the test instead of hanging it; no assertion
// depends on how long anything takes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/net/address.h"

namespace weft::test {

class BlockingClient {
 public:
  // Binds to `source_ip` with an ephemeral port so the test knows the peer address the
  // proxy will see before connecting.
  explicit BlockingClient(const std::string& source_ip = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval safety{.tv_sec = 20, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &safety, sizeof(safety));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &safety, sizeof(safety));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_ip.c_str(), &sin.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
    socklen_t len = sizeof(sin);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    local_ = *common::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin), len);
  }
  ~BlockingClient() { close(); }
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  const common::SocketAddress& local() const { return local_; }

  bool connect(const common::SocketAddress& to) {
    sockaddr_storage ss;
    const socklen_t len = to.toSockaddr(&ss);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  }
  bool sendAll(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      off += n;
    }
    return true;
  }
  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  // Reads until EOF (true) or an error such as a reset (false, errno in lastErrno()).
  bool readToEof(std::string& out) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) {
        return true;
      }
      if (n < 0) {
        last_errno_ = errno;
        return false;
      }
      out.append(buf, n);
    }
  }
  int lastErrno() const { return last_errno_; }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
  int last_errno_ = 0;
  common::SocketAddress local_;
};

}  // namespace weft::test
