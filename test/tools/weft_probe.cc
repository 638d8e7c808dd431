// weft-probe: a tiny TCP client and server for the e2e tests.
//
//   weft-probe connect <ipv4>:<port> [--send N] [--expect-echo | --expect-bytes M]
//                      [--http-get PATH] [--timeout-ms T] [--wait-ms W]
//     Connects, waits W ms with the connection idle (default 0: a connection that must live
//     across some event, e.g. an operator restart), sends N bytes of a known pattern, reads until the expected bytes are back,
//     closes, and prints one JSON line: the addresses getpeername()/getsockname() return,
//     the byte counts, and the error (errno name) if something failed. --http-get sends
//     one HTTP/1.0 GET instead and adds the response's status line and body.
//     Exit status: 0 when every expectation held, 1 when an exchange went wrong, 2 when the
//     connect itself failed.
//   weft-probe serve --port P [--repeat K]
//     Listens on 0.0.0.0:P and writes every chunk it receives back K times (default 1: an
//     echo server), so a test can tell the two directions apart. Runs until killed.
//
// It is a test tool: blocking sockets and a thread per connection keep it short.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct ConnectOptions {
  sockaddr_in target{};
  uint64_t send_bytes = 0;
  bool expect_echo = false;
  std::optional<uint64_t> expect_bytes;
  std::string http_path;  // --http-get: one HTTP/1.0 GET, read until the server closes
  int timeout_ms = 5000;  // for the connect, and again for the exchange
  int wait_ms = 0;        // idle time between connect and exchange
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "weft-probe: %s\n"
               "usage: weft-probe connect <ipv4>:<port> [--send N] [--expect-echo | "
               "--expect-bytes M] [--http-get PATH] [--timeout-ms T] [--wait-ms W]\n"
               "       weft-probe serve --port P [--repeat K]\n",
               why);
  std::exit(64);
}

uint64_t parseCount(const char* flag, const char* value) {
  if (value == nullptr) {
    usage((std::string(flag) + " needs a value").c_str());
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0') {
    usage((std::string(flag) + ": not a number: " + value).c_str());
  }
  return n;
}

sockaddr_in parseAddress(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    usage("address must be <ipv4>:<port>");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const uint64_t port = parseCount("port", text.substr(colon + 1).c_str());
  if (port == 0 || port > 65535 ||
      inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    usage(("bad address: " + text).c_str());
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

std::string toString(const sockaddr_in& addr) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
}

std::string errnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

// Byte i of every stream the client sends; 251 is prime, so shifted copies do not match.
unsigned char patternByte(uint64_t i) { return static_cast<unsigned char>(i % 251); }

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Non-blocking connect bounded by the deadline; returns 0 or an errno value.
int connectWithin(int fd, const sockaddr_in& target, Clock::time_point deadline) {
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) == 0) {
    return 0;
  }
  if (errno != EINPROGRESS) {
    return errno;
  }
  pollfd pfd{fd, POLLOUT, 0};
  if (poll(&pfd, 1, remainingMs(deadline)) == 0) {
    return ETIMEDOUT;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

// What one connection exchanges: bytes out (the pattern, or a fixed payload) and how much
// to read back (a count, or everything until the server closes).
struct Plan {
  uint64_t send_bytes = 0;
  std::string payload;               // sent instead of the pattern when not empty
  std::optional<uint64_t> expected;  // bytes to read back; nullopt: until EOF
  bool check_echo = false;           // the bytes read back must be the bytes sent
};

struct Outcome {
  uint64_t sent = 0;
  uint64_t received = 0;
  bool echo_ok = true;
  std::string response;  // what was read, when reading until EOF (first 64 KiB)
  std::string error;
};

Plan planFor(const ConnectOptions& options) {
  Plan plan;
  if (!options.http_path.empty()) {
    plan.payload = "GET " + options.http_path + " HTTP/1.0\r\nHost: " +
                   toString(options.target) + "\r\n\r\n";
    plan.send_bytes = plan.payload.size();
    return plan;
  }
  plan.send_bytes = options.send_bytes;
  plan.check_echo = options.expect_echo;
  plan.expected = options.expect_echo ? options.send_bytes : options.expect_bytes.value_or(0);
  return plan;
}

Outcome exchange(int fd, const Plan& plan, Clock::time_point deadline) {
  Outcome o;
  bool eof = false;
  std::vector<unsigned char> buf(64 * 1024);
  const auto wantMore = [&] {
    return plan.expected ? o.received < *plan.expected : !eof;
  };
  while ((o.sent < plan.send_bytes || wantMore()) && !eof && o.error.empty()) {
    pollfd pfd{fd, POLLIN, 0};
    if (o.sent < plan.send_bytes) {
      pfd.events |= POLLOUT;
    }
    const int timeout = remainingMs(deadline);
    if (timeout == 0 || poll(&pfd, 1, timeout) == 0) {
      o.error = "timed out";
      break;
    }
    if ((pfd.revents & POLLOUT) != 0) {
      const size_t n = std::min<uint64_t>(buf.size(), plan.send_bytes - o.sent);
      for (size_t i = 0; i < n; ++i) {
        buf[i] = plan.payload.empty() ? patternByte(o.sent + i) : plan.payload[o.sent + i];
      }
      const ssize_t w = send(fd, buf.data(), n, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN) {
        o.error = "send: " + errnoName(errno);
      } else if (w > 0) {
        o.sent += static_cast<uint64_t>(w);
      }
    }
    if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
      if (r == 0) {
        eof = true;
      } else if (r < 0 && errno != EAGAIN) {
        o.error = "recv: " + errnoName(errno);
      } else if (r > 0) {
        for (ssize_t i = 0; plan.check_echo && i < r; ++i) {
          o.echo_ok = o.echo_ok && buf[i] == patternByte(o.received + i);
        }
        if (!plan.expected && o.response.size() < buf.size()) {
          o.response.append(reinterpret_cast<const char*>(buf.data()),
                            std::min<size_t>(r, buf.size() - o.response.size()));
        }
        o.received += static_cast<uint64_t>(r);
      }
    }
  }
  if (o.error.empty() && plan.expected && o.received != *plan.expected) {
    o.error = "received " + std::to_string(o.received) + " bytes, expected " +
              std::to_string(*plan.expected);
  }
  o.echo_ok = o.echo_ok && o.received == o.sent;
  return o;
}

// Adds the status line and body of an HTTP response to `out`; false unless it is a 200.
bool describeHttp(const std::string& response, nlohmann::json& out) {
  const auto line_end = response.find("\r\n");
  const auto body_start = response.find("\r\n\r\n");
  const std::string status = response.substr(0, line_end);
  std::string body = body_start == std::string::npos ? "" : response.substr(body_start + 4);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
    body.pop_back();
  }
  out["http_status"] = status;
  out["http_body"] = body;
  return status.rfind("HTTP/1.", 0) == 0 && status.find(" 200 ") != std::string::npos;
}

int runConnect(const ConnectOptions& options) {
  nlohmann::json out;
  out["target"] = toString(options.target);
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return 2;
  }
  if (const int err = connectWithin(fd, options.target, deadline); err != 0) {
    out["connected"] = false;
    out["errno"] = errnoName(err);
    out["error"] = std::strerror(err);
    std::printf("%s\n", out.dump().c_str());
    close(fd);
    return 2;
  }
  out["connected"] = true;
  sockaddr_in peer{}, local{};
  socklen_t len = sizeof(peer);
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
  len = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  out["peer"] = toString(peer);
  out["local"] = toString(local);

  std::this_thread::sleep_for(std::chrono::milliseconds(options.wait_ms));
  const Plan plan = planFor(options);
  const Outcome o =
      exchange(fd, plan, Clock::now() + std::chrono::milliseconds(options.timeout_ms));
  close(fd);

  out["sent"] = o.sent;
  out["received"] = o.received;
  bool ok = o.error.empty() && o.sent == plan.send_bytes;
  if (plan.check_echo) {
    out["echo_ok"] = o.echo_ok;
    ok = ok && o.echo_ok;
  }
  if (!options.http_path.empty()) {
    ok = describeHttp(o.response, out) && ok;
  }
  out["error"] = o.error.empty() ? nlohmann::json() : nlohmann::json(o.error);
  std::printf("%s\n", out.dump().c_str());
  return ok ? 0 : 1;
}

bool writeAll(int fd, const unsigned char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void serveConnection(int fd, uint64_t repeat) {
  std::vector<unsigned char> buf(64 * 1024);
  for (;;) {
    const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    bool ok = true;
    for (uint64_t k = 0; k < repeat && ok; ++k) {
      ok = writeAll(fd, buf.data(), static_cast<size_t>(r));
    }
    if (!ok) {
      break;
    }
  }
  close(fd);
}

int runServe(uint16_t port, uint64_t repeat) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 128) != 0) {
    std::fprintf(stderr, "weft-probe: cannot listen on :%u: %s\n", port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "weft-probe: listening on 0.0.0.0:%u (each chunk written back %llu x)\n",
               port, static_cast<unsigned long long>(repeat));
  for (;;) {
    const int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      std::perror("accept");
      return 1;
    }
    std::thread(serveConnection, conn, repeat).detach();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage("missing command");
  }
  const std::string command = argv[1];
  if (command == "connect") {
    if (argc < 3) {
      usage("connect needs an address");
    }
    ConnectOptions options;
    options.target = parseAddress(argv[2]);
    for (int i = 3; i < argc; ++i) {
      const std::string flag = argv[i];
      const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
      if (flag == "--send") {
        options.send_bytes = parseCount("--send", value);
        ++i;
      } else if (flag == "--expect-echo") {
        options.expect_echo = true;
      } else if (flag == "--expect-bytes") {
        options.expect_bytes = parseCount("--expect-bytes", value);
        ++i;
      } else if (flag == "--http-get") {
        if (value == nullptr || value[0] != '/') {
          usage("--http-get needs a path starting with /");
        }
        options.http_path = value;
        ++i;
      } else if (flag == "--timeout-ms") {
        options.timeout_ms = static_cast<int>(parseCount("--timeout-ms", value));
        ++i;
      } else if (flag == "--wait-ms") {
        options.wait_ms = static_cast<int>(parseCount("--wait-ms", value));
        ++i;
      } else {
        usage(("unknown flag " + flag).c_str());
      }
    }
    if (options.expect_echo && options.expect_bytes) {
      usage("--expect-echo and --expect-bytes exclude each other");
    }
    if (!options.http_path.empty() &&
        (options.expect_echo || options.expect_bytes || options.send_bytes > 0)) {
      usage("--http-get excludes --send, --expect-echo and --expect-bytes");
    }
    return runConnect(options);
  }
  if (command == "serve") {
    uint64_t port = 0, repeat = 1;
    for (int i = 2; i < argc; ++i) {
      const std::string flag = argv[i];
      const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
      if (flag == "--port") {
        port = parseCount("--port", value);
        ++i;
      } else if (flag == "--repeat") {
        repeat = parseCount("--repeat", value);
        ++i;
      } else {
        usage(("unknown flag " + flag).c_str());
      }
    }
    if (port == 0 || port > 65535 || repeat == 0) {
      usage("serve needs --port 1..65535 and --repeat >= 1");
    }
    return runServe(static_cast<uint16_t>(port), repeat);
  }
  usage(("unknown command " + command).c_str());
}
