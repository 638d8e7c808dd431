// In-kernel tests of bpf/splice.bpf.c and KernelSplicer: client -> [downstream | upstream]
// -> server on real sockets in a private namespace, with the agent's relay done by the
// kernel. Checks bytes intact and in order, bytes sent before the splice, half-close
// propagation only after the kernel handed every byte over, and exact counters.

#include "agent/capture/splice.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test/bpf/capture_lab.h"

namespace weft::test {
namespace {

using agent::capture::SplicedPair;
using agent::capture::SpliceProgress;

// Byte `i` of a stream: position-dependent, so loss, duplication and reordering all show.
uint8_t patternByte(uint64_t i, uint8_t salt) {
  return static_cast<uint8_t>(((i * 2654435761u) >> 13) ^ (i >> 20) ^ salt);
}

std::vector<char> pattern(uint64_t from, size_t n, uint8_t salt) {
  std::vector<char> out(n);
  for (size_t k = 0; k < n; ++k) {
    out[k] = static_cast<char>(patternByte(from + k, salt));
  }
  return out;
}

constexpr uint8_t kClientSalt = 0x5a;
constexpr uint8_t kServerSalt = 0xc3;

// Writes stream bytes [from, to) of the pattern.
bool writePattern(int fd, uint64_t from, uint64_t to, uint8_t salt) {
  constexpr size_t kChunk = 256 * 1024;
  for (uint64_t at = from; at < to;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, to - at));
    const std::vector<char> buf = pattern(at, n, salt);
    if (!writeAll(fd, buf.data(), n)) {
      return false;
    }
    at += n;
  }
  return true;
}

// Reads until EOF; returns the byte count, or -1 at the first byte off the pattern.
int64_t readPatternToEof(int fd, uint8_t salt) {
  std::vector<char> buf(256 * 1024);
  uint64_t at = 0;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) {
      return -2;  // safety timeout: the stream stalled
    }
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n == 0) {
      return static_cast<int64_t>(at);
    }
    if (n < 0) {
      return -3;
    }
    for (ssize_t k = 0; k < n; ++k) {
      if (static_cast<uint8_t>(buf[k]) != patternByte(at + k, salt)) {
        return -1;
      }
    }
    at += n;
  }
}

size_t inq(int fd) {
  int n = 0;
  ioctl(fd, FIONREAD, &n);
  return static_cast<size_t>(n);
}

// Waits until `fd` holds `bytes` unread bytes (they arrived, and nobody consumed them).
bool awaitQueued(int fd, size_t bytes) {
  for (int i = 0; i < 20000 && inq(fd) < bytes; ++i) {
    usleep(1000);
  }
  return inq(fd) == bytes;
}

// client -> downstream (accepted by the agent) ; upstream (agent's connect) -> server.
struct Chain {
  Fd client, downstream, upstream, server;
};

struct SpliceLab : CaptureLab {
  Chain chain() const {
    Chain c;
    c.client = Fd(connectTo(addr(kCaptureIpv4, kOutboundPort), AF_INET));
    c.downstream = Fd(acceptWithin(capture_v4.fd));
    c.upstream = Fd(connectTo(addr(kPodIpv4, 8080), AF_INET));
    c.server = Fd(acceptWithin(pod_server.fd));
    return c;
  }
};

// The agent's part after splice(): propagate each EOF once its direction is drained.
struct RelayOutcome {
  SpliceProgress last;
  int polls_waiting_for_drain = 0;  // progress() calls that saw EOF but bytes in flight
  bool finished = false;
};

RelayOutcome relayUntilBothShut(SplicedPair& pair, int downstream, int upstream) {
  RelayOutcome out;
  bool upstream_shut = false, downstream_shut = false;
  for (int i = 0; i < 60000 && !(upstream_shut && downstream_shut); ++i) {
    auto progress = pair.progress();
    REQUIRE(progress.ok());
    out.last = *progress;
    if (progress->downstream_eof && !upstream_shut) {
      if (progress->downstream_to_upstream_drained) {
        shutdown(upstream, SHUT_WR);
        upstream_shut = true;
      } else {
        ++out.polls_waiting_for_drain;
      }
    }
    if (progress->upstream_eof && !downstream_shut) {
      if (progress->upstream_to_downstream_drained) {
        shutdown(downstream, SHUT_WR);
        downstream_shut = true;
      } else {
        ++out.polls_waiting_for_drain;
      }
    }
    // The agent would sleep in epoll on EPOLLRDHUP; a short poll keeps the test simple.
    pollfd p[2] = {{downstream, POLLRDHUP, 0}, {upstream, POLLRDHUP, 0}};
    poll(p, 2, 1);
  }
  out.finished = upstream_shut && downstream_shut;
  return out;
}

struct EarlyBytesCase {
  const char* description;
  size_t client_bytes;  // sent by the client before the splice
  size_t server_bytes;  // sent by the server before the splice
};

const EarlyBytesCase kEarlyBytesCases[] = {
    {"a request sent before the splice reaches the server", 300, 0},
    {"a greeting sent before the splice reaches the client", 0, 120},
    {"both sides sent before the splice", 64 * 1024, 32 * 1024},
};

TEST_CASE("bytes that arrived before the splice are relayed with nothing sent after",
          "[bpf][splice]") {
  for (const EarlyBytesCase& c : kEarlyBytesCases) {
    SECTION(c.description) {
      SpliceLab lab;
      Chain ch = lab.chain();
      REQUIRE(ch.server.fd >= 0);
      REQUIRE(writePattern(ch.client.fd, 0, c.client_bytes, kClientSalt));
      REQUIRE(writePattern(ch.server.fd, 0, c.server_bytes, kServerSalt));
      REQUIRE(awaitQueued(ch.downstream.fd, c.client_bytes));
      REQUIRE(awaitQueued(ch.upstream.fd, c.server_bytes));

      auto pair = lab.capture->splicer().splice(ch.downstream.fd, ch.upstream.fd);
      REQUIRE(pair.ok());
      std::vector<char> at_server(c.client_bytes), at_client(c.server_bytes);
      REQUIRE(readExactly(ch.server.fd, at_server.data(), at_server.size()));
      REQUIRE(readExactly(ch.client.fd, at_client.data(), at_client.size()));
      CHECK(at_server == pattern(0, c.client_bytes, kClientSalt));
      CHECK(at_client == pattern(0, c.server_bytes, kServerSalt));
      auto progress = (*pair)->progress();
      REQUIRE(progress.ok());
      CHECK(progress->downstream_to_upstream == c.client_bytes);
      CHECK(progress->upstream_to_downstream == c.server_bytes);
      CHECK(progress->bytes_dropped == 0);
    }
  }
}

struct RelayCase {
  const char* description;
  size_t client_early;  // client bytes sent before the splice
  size_t server_early;  // server greeting sent before the splice
  uint64_t client_total;
  uint64_t server_total;  // including the greeting
  bool server_waits;      // the server reads only once the client has finished sending
};

constexpr uint64_t kTenMiB = 10ull << 20;

const RelayCase kRelayCases[] = {
    {"10 MiB each way with early bytes and half-close", 64 * 1024, 1000, kTenMiB, 1000 + kTenMiB,
     false},
    {"a server that reads late makes the agent wait for the kernel before its FIN", 0, 0, kTenMiB,
     kTenMiB, true},
    {"no payload at all, only the FINs", 0, 0, 0, 0, false},
};

TEST_CASE("a spliced connection relays both ways intact and propagates half-close",
          "[bpf][splice]") {
  for (const RelayCase& c : kRelayCases) {
    SECTION(c.description) {
      SpliceLab lab;
      Chain ch = lab.chain();
      REQUIRE(ch.server.fd >= 0);
      REQUIRE(writePattern(ch.client.fd, 0, c.client_early, kClientSalt));
      REQUIRE(writePattern(ch.server.fd, 0, c.server_early, kServerSalt));
      REQUIRE(awaitQueued(ch.downstream.fd, c.client_early));
      REQUIRE(awaitQueued(ch.upstream.fd, c.server_early));
      auto pair = lab.capture->splicer().splice(ch.downstream.fd, ch.upstream.fd);
      REQUIRE(pair.ok());

      std::promise<void> client_done_writing;
      std::shared_future<void> client_done = client_done_writing.get_future().share();
      auto client = std::async(std::launch::async, [&] {
        const bool wrote = writePattern(ch.client.fd, c.client_early, c.client_total, kClientSalt);
        shutdown(ch.client.fd, SHUT_WR);
        client_done_writing.set_value();
        const int64_t got = readPatternToEof(ch.client.fd, kServerSalt);
        return wrote ? got : -4;
      });
      auto server = std::async(std::launch::async, [&] {
        if (c.server_waits) {
          client_done.wait();
        }
        const int64_t got = readPatternToEof(ch.server.fd, kClientSalt);
        const bool wrote = writePattern(ch.server.fd, c.server_early, c.server_total, kServerSalt);
        shutdown(ch.server.fd, SHUT_WR);
        return wrote ? got : -4;
      });

      RelayOutcome relay = relayUntilBothShut(**pair, ch.downstream.fd, ch.upstream.fd);
      CHECK(relay.finished);
      CHECK(server.get() == static_cast<int64_t>(c.client_total));
      CHECK(client.get() == static_cast<int64_t>(c.server_total));
      auto progress = (*pair)->progress();
      REQUIRE(progress.ok());
      CHECK(progress->downstream_to_upstream == c.client_total);
      CHECK(progress->upstream_to_downstream == c.server_total);
      CHECK(progress->bytes_dropped == 0);
      CHECK(lab.counter("splice_no_state") == 0);
      CHECK(lab.counter("splice_peer_gone") == 0);
      UNSCOPED_INFO(
          "progress polls that had to wait for the kernel: " << relay.polls_waiting_for_drain);
    }
  }
}

TEST_CASE("an unspliced pair leaves nothing in the kernel maps", "[bpf][splice]") {
  SpliceLab lab;
  Chain ch = lab.chain();
  REQUIRE(ch.server.fd >= 0);
  auto pair = lab.capture->splicer().splice(ch.downstream.fd, ch.upstream.fd);
  REQUIRE(pair.ok());
  pair->reset();
  CHECK(mapEntriesOf(lab.bpffs.path() + "/weft_splice_st", sizeof(uint64_t)) == 0);
  CHECK(mapEntriesOf(lab.bpffs.path() + "/weft_splice_sk", sizeof(uint64_t)) == 0);
  // The sockets are plain sockets again: the agent can relay by hand.
  REQUIRE(writeAll(ch.client.fd, "hi", 2));
  char buf[2];
  REQUIRE(readExactly(ch.downstream.fd, buf, 2));
  CHECK(std::string(buf, 2) == "hi");
}

TEST_CASE("splice refuses sockets it cannot relay without losing bytes", "[bpf][splice]") {
  SpliceLab lab;
  Chain ch = lab.chain();
  REQUIRE(ch.server.fd >= 0);

  SECTION("bytes were already read from the downstream socket") {
    REQUIRE(writeAll(ch.client.fd, "0123456789", 10));
    char buf[3];
    REQUIRE(readExactly(ch.downstream.fd, buf, 3));
    auto pair = lab.capture->splicer().splice(ch.downstream.fd, ch.upstream.fd);
    REQUIRE_FALSE(pair.ok());
    CHECK_THAT(std::string(pair.status().message()), Catch::Contains("already read"));
  }
  SECTION("the client already half-closed") {
    shutdown(ch.client.fd, SHUT_WR);
    REQUIRE(readEof(ch.downstream.fd) == true);
    auto pair = lab.capture->splicer().splice(ch.downstream.fd, ch.upstream.fd);
    REQUIRE_FALSE(pair.ok());
    CHECK_THAT(std::string(pair.status().message()), Catch::Contains("not an established"));
  }
  CHECK(mapEntriesOf(lab.bpffs.path() + "/weft_splice_st", sizeof(uint64_t)) == 0);
  CHECK(mapEntriesOf(lab.bpffs.path() + "/weft_splice_sk", sizeof(uint64_t)) == 0);
}

}  // namespace
}  // namespace weft::test
