#pragma once

// Shared pieces of the tunnel tests: a test CA and SVIDs, an io_context on its own thread
// with a blocking "run this there" call, a client and a server on their own threads, a
// blocking facade over TunnelStream, and a plain TCP listener the test thread drives with
// blocking calls. Waits are safety deadlines for something that must happen, never measures.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "agent/tunnel/certificate_store.h"
#include "agent/tunnel/tunnel_client.h"
#include "agent/tunnel/tunnel_server.h"
#include "common/identity/svid.h"
#include "test/agent/testing/test_upstream.h"
#include "test/common/identity/test_pki.h"

namespace weft::agent::tunnel::testing {

using common::identity::CertificateAuthority;
using common::identity::SpiffeId;
using common::identity::Svid;
using common::identity::TrustBundle;
using common::identity::testing::id;
using common::identity::testing::kNow;
using common::identity::testing::messageOf;
using common::identity::testing::take;

inline const char kWeb[] = "spiffe://example.org/ns/prod/sa/web";
inline const char kDb[] = "spiffe://example.org/ns/prod/sa/db";

inline Clock fixedClock(absl::Time t = kNow) {
  return [t] { return t; };
}

// A CA of a trust domain (example.org unless told) and the SVIDs it issues.
struct TestPki {
  explicit TestPki(const std::string& trust_domain = "example.org")
      : ca(take(CertificateAuthority::selfSigned(trust_domain, absl::Hours(24 * 365),
                                                 kNow - absl::Hours(24)))),
        bundle(take(TrustBundle::fromCertificates(ca.trustBundle()))) {}

  CertificateAuthority ca;
  TrustBundle bundle;

  SvidPtr svid(const std::string& spiffe_id, absl::Time issued = kNow,
               absl::Duration lifetime = absl::Hours(24)) const {
    auto requester = common::identity::testing::requester(spiffe_id);
    auto issuedCert = take(ca.sign(requester.csr, lifetime, issued));
    return std::make_shared<const Svid>(take(Svid::assemble(
        id(spiffe_id), std::move(requester.key), take(issuedCert.chainPem()), bundle, issued)));
  }

  std::shared_ptr<CertificateStore> store(const std::vector<SvidPtr>& svids) const {
    auto store = std::make_shared<CertificateStore>();
    for (const SvidPtr& s : svids) {
      REQUIRE(store->put(s).ok());
    }
    return store;
  }
};

// An io_context running on its own thread.
class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }

  // Runs `fn` on the thread and returns its result.
  template <typename F>
  auto run(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Waits for a future with a generous safety deadline (never a measure of speed).
template <typename T>
T await(std::future<T> future) {
  REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  return future.get();
}

// `svid`'s key and certificates, under another identity or verifying peers with another
// bundle: what a misconfigured or malicious agent could hold.
inline SvidPtr withBundle(const Svid& svid, const TrustBundle& bundle) {
  return std::make_shared<const Svid>(Svid{svid.id, common::identity::shareKey(svid.key.get()),
                                           common::identity::shareCert(svid.leaf.get()),
                                           common::identity::shareChain(svid.intermediates), bundle,
                                           svid.not_before, svid.not_after});
}
inline SvidPtr underIdentity(const Svid& svid, const std::string& spiffe_id) {
  SvidPtr copy = withBundle(svid, svid.bundle);
  const_cast<Svid&>(*copy).id = id(spiffe_id);
  return copy;
}

// A server and a client, each on its own thread.
struct Tunnel {
  TestPki pki;
  IoThread server_thread;
  IoThread client_thread;
  std::unique_ptr<TunnelServer> server;
  std::unique_ptr<TunnelClient> client;
  std::shared_ptr<CertificateStore> client_store;
  common::SocketAddress server_address;

  Tunnel() = default;
  ~Tunnel() {
    client_thread.run([this] {
      client.reset();
      return 0;
    });
    server_thread.run([this] {
      server.reset();
      return 0;
    });
  }

  // Serves `svids` (default: db) and lets `handler` decide (default: connect to the target).
  void startServer(std::vector<SvidPtr> svids = {}, StreamHandler handler = nullptr,
                   TunnelServerOptions options = {}, uint16_t port = 0) {
    if (svids.empty()) {
      svids = {pki.svid(kDb)};
    }
    if (handler == nullptr) {
      handler = [](const StreamRequest& r) { return parseTarget(r.target); };
    }
    options.clock = fixedClock();
    auto store = pki.store(svids);
    server_thread.run([&] {
      server = take(TunnelServer::create(server_thread.executor(), store, handler, options));
      const common::SocketAddress address{take(common::IpAddress::Parse("127.0.0.1")), port};
      REQUIRE(server->listen(address).ok());
      server_address = server->localAddress();
      return 0;
    });
  }
  void stopServer() {
    server_thread.run([this] {
      server.reset();
      return 0;
    });
  }

  void startClient(std::vector<SvidPtr> svids = {}, TunnelClientOptions options = {}) {
    if (svids.empty()) {
      svids = {pki.svid(kWeb)};
    }
    options.clock = fixedClock();
    client_store = pki.store(svids);
    client = std::make_unique<TunnelClient>(client_thread.executor(), client_store, options);
  }

  std::future<absl::StatusOr<TunnelStreamPtr>> openAsync(const std::string& target,
                                                         const std::string& destination = kDb,
                                                         const std::string& source = kWeb) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<TunnelStreamPtr>>>();
    auto future = promise->get_future();
    // Parsed here: Catch2 assertions (inside id()) may only run on the test thread.
    asio::post(client_thread.executor(),
               [this, source = id(source), destination = id(destination), target, promise] {
                 client->openStream(source, server_address, destination, target,
                                    [promise](absl::StatusOr<TunnelStreamPtr> s) {
                                      promise->set_value(std::move(s));
                                    });
               });
    return future;
  }
  absl::StatusOr<TunnelStreamPtr> open(const std::string& target,
                                       const std::string& destination = kDb,
                                       const std::string& source = kWeb) {
    return await(openAsync(target, destination, source));
  }

  size_t clientConnections() {
    return client_thread.run([this] { return client->connectionCount(); });
  }
  size_t serverConnections() {
    return server_thread.run([this] { return server->connectionCount(); });
  }
  const TunnelClientStats& clientStats() const { return client->stats(); }
  const TunnelServerStats& serverStats() const { return server->stats(); }
};

// Opens a stream as web to db through whatever listens at `node` (a TunnelServer or not).
inline std::future<absl::StatusOr<TunnelStreamPtr>> openThrough(
    Tunnel& t, const common::SocketAddress& node, const std::string& destination = kDb,
    const std::string& target = "127.0.0.1:9") {
  auto promise = std::make_shared<std::promise<absl::StatusOr<TunnelStreamPtr>>>();
  auto future = promise->get_future();
  // Parsed here: Catch2 assertions (inside id()) may only run on the test thread.
  asio::post(t.client_thread.executor(),
             [&t, source = id(kWeb), node, destination = id(destination), target, promise] {
               t.client->openStream(source, node, destination, target,
                                    [promise](absl::StatusOr<TunnelStreamPtr> s) {
                                      promise->set_value(std::move(s));
                                    });
             });
  return future;
}

struct IoResult {
  std::error_code ec;
  size_t n = 0;
};

// Blocking calls on a stream, each run on the stream's thread.
class BlockingStream {
 public:
  BlockingStream(IoThread& thread, TunnelStreamPtr stream)
      : thread_(thread), stream_(std::move(stream)) {}
  ~BlockingStream() {
    thread_.run([this] {
      stream_.reset();
      return 0;
    });
  }

  IoResult write(const std::string& data) {
    auto promise = std::make_shared<std::promise<IoResult>>();
    auto future = promise->get_future();
    asio::post(thread_.executor(), [this, &data, promise] {
      stream_->asyncWrite(asio::buffer(data), [promise](const std::error_code& ec, size_t n) {
        promise->set_value({ec, n});
      });
    });
    return await(std::move(future));
  }
  // One read of up to `max` bytes.
  IoResult read(std::string* out, size_t max = 64 << 10) {
    auto buffer = std::make_shared<std::string>(max, '\0');
    auto promise = std::make_shared<std::promise<IoResult>>();
    auto future = promise->get_future();
    asio::post(thread_.executor(), [this, buffer, promise] {
      stream_->asyncRead(asio::buffer(*buffer), [promise](const std::error_code& ec, size_t n) {
        promise->set_value({ec, n});
      });
    });
    IoResult result = await(std::move(future));
    out->append(buffer->data(), result.n);
    return result;
  }
  // Reads until EOF or an error; the error (eof when clean) is returned.
  std::error_code readAll(std::string* out) {
    for (;;) {
      IoResult r = read(out);
      if (r.ec) {
        return r.ec;
      }
    }
  }
  void shutdownWrite() {
    thread_.run([this] {
      stream_->shutdownWrite();
      return 0;
    });
  }
  void reset() {
    thread_.run([this] {
      stream_->reset();
      return 0;
    });
  }
  TunnelStream& stream() { return *stream_; }

 private:
  IoThread& thread_;
  TunnelStreamPtr stream_;
};

struct Exchanged {
  std::error_code end;  // how reading ended: eof when the peer half-closed
  std::string received;
};

// Writes `data` and half-closes while reading to EOF, concurrently, on the stream's thread
// (the echo path can hold less than `data`, so a write-then-read would stall on flow
// control); the stream is dropped once both directions are done (earlier would reset it).
inline std::future<Exchanged> exchangeAsync(IoThread& thread, TunnelStreamPtr stream,
                                            std::string data) {
  struct Pump : std::enable_shared_from_this<Pump> {
    TunnelStreamPtr stream;
    std::string data;
    size_t sent = 0;
    Exchanged result;
    std::string buffer = std::string(64 << 10, '\0');
    std::promise<Exchanged> done;

    bool writing = true;
    bool reading = true;

    void write() {
      if (sent == data.size()) {
        stream->shutdownWrite();
        finish(&writing);
        return;
      }
      const size_t n = std::min<size_t>(64 << 10, data.size() - sent);
      stream->asyncWrite(asio::buffer(data.data() + sent, n),
                         [self = shared_from_this()](const std::error_code& ec, size_t n) {
                           self->sent += n;
                           if (ec) {
                             self->finish(&self->writing);
                             return;
                           }
                           self->write();
                         });
    }
    void read() {
      stream->asyncRead(asio::buffer(buffer),
                        [self = shared_from_this()](const std::error_code& ec, size_t n) {
                          self->result.received.append(self->buffer.data(), n);
                          if (!ec) {
                            self->read();
                            return;
                          }
                          self->result.end = ec;
                          self->finish(&self->reading);
                        });
    }
    void finish(bool* direction) {
      *direction = false;
      if (!writing && !reading) {
        stream.reset();
        done.set_value(std::move(result));
      }
    }
  };
  auto pump = std::make_shared<Pump>();
  pump->stream = std::move(stream);
  pump->data = std::move(data);
  auto future = pump->done.get_future();
  asio::post(thread.executor(), [pump] {
    pump->write();
    pump->read();
  });
  return future;
}

inline std::string exchange(IoThread& thread, TunnelStreamPtr stream, const std::string& data,
                            std::error_code* read_error = nullptr) {
  Exchanged result = await(exchangeAsync(thread, std::move(stream), data));
  if (read_error != nullptr) {
    *read_error = result.end;
  }
  return std::move(result.received);
}

// `size` pseudo-random bytes; another `seed`, other bytes.
inline std::string pattern(size_t size, uint32_t seed = 2463534242u) {
  std::string data(size, '\0');
  uint32_t x = seed;
  for (char& c : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return data;
}

// FNV-1a, to compare what arrived with what was sent without keeping both.
class Checksum {
 public:
  void add(const char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      hash_ = (hash_ ^ static_cast<uint8_t>(data[i])) * 1099511628211ull;
    }
    size_ += size;
  }
  void add(const std::string& data) { add(data.data(), data.size()); }
  uint64_t hash() const { return hash_; }
  size_t size() const { return size_; }

 private:
  uint64_t hash_ = 14695981039346656037ull;
  size_t size_ = 0;
};

inline Checksum checksumOf(const std::string& data) {
  Checksum sum;
  sum.add(data);
  return sum;
}

// A plain TCP listener on 127.0.0.1 the test thread drives with blocking calls.
class RawListener {
 public:
  // A `backlog` of 0 holds one connection nobody accepted; then further SYNs are dropped.
  explicit RawListener(int backlog = 16) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, backlog) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RawListener() { ::close(fd_); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  common::SocketAddress address() const { return take(parseTarget(target())); }

  // The next connection's fd (the caller closes it), or -1 after the safety deadline.
  int accept() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 30000) != 1) {
      return -1;
    }
    return ::accept(fd_, nullptr, nullptr);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// "127.0.0.1:<port>" of a port that was just closed: connects to it are refused.
inline std::string closedPortTarget() {
  RawListener probe;
  return probe.target();
}

inline std::string targetOf(const weft::test::TestUpstream& upstream) {
  return "127.0.0.1:" + std::to_string(upstream.port());
}

// Blocks until `fd` is readable (or the safety deadline), then recv()s once.
inline ssize_t recvOnce(int fd, char* buffer, size_t size) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 30000) != 1) {
    return -2;
  }
  return ::recv(fd, buffer, size, 0);
}

// Sends all of `data` (false on an error). No Catch2 assertion: other threads call it.
inline bool sendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads until EOF (true) or an error or the safety deadline (false), into `sum`. No Catch2
// assertion: other threads call it.
inline bool receiveAll(int fd, Checksum* sum, std::string* data = nullptr) {
  char buffer[64 << 10];
  for (;;) {
    const ssize_t n = recvOnce(fd, buffer, sizeof(buffer));
    if (n == 0) {
      return true;
    }
    if (n < 0) {
      return false;
    }
    sum->add(buffer, static_cast<size_t>(n));
    if (data != nullptr) {
      data->append(buffer, static_cast<size_t>(n));
    }
  }
}

inline void closeWithReset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

}  // namespace weft::agent::tunnel::testing
