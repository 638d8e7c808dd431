// In-kernel tests of bpf/connect.bpf.c, bpf/getpeername.bpf.c and bpf/sockops.bpf.c through
// real sockets (cgroup sock_addr and sockops programs cannot be test-run on this kernel):
// a pod process connects, and the test checks where the connection arrived and what the
// agent's lookup and telemetry say.

#include <sys/epoll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "test/bpf/capture_lab.h"

namespace weft::test {
namespace {

using agent::capture::ConnectionClosed;

enum class Outcome {
  kCaptured,         // arrives at the agent; lookup gives the VIP and the pod's cgroup
  kReachesDirectly,  // arrives at the pod server it was sent to
  kUntouchedFails,   // not rewritten, so the blackholed VIP range makes connect fail
};

struct ConnectCase {
  const char* description;
  const char* pod;  // the pod whose app cgroup the client runs in
  int family;       // AF_INET6 with an IPv4 destination dials v4-mapped
  int type;
  const char* ip;
  uint16_t port;
  Outcome expected;
  const char* counter;  // the counter that must move by one, if any
};

const ConnectCase kConnectCases[] = {
    {"an enrolled pod's IPv4 connect to a service VIP is captured", kEnrolledPod, AF_INET,
     SOCK_STREAM, kVipIpv4, 80, Outcome::kCaptured, "captured_v4"},
    {"an enrolled pod's v4-mapped connect6 to a service VIP is captured", kEnrolledPod, AF_INET6,
     SOCK_STREAM, kVipIpv4, 80, Outcome::kCaptured, "captured_v4_mapped"},
    {"an enrolled pod's IPv6 connect to a service VIP is captured", kEnrolledPod, AF_INET6,
     SOCK_STREAM, kVipIpv6, 80, Outcome::kCaptured, "captured_v6"},
    {"a VIP on a port that is no service is left alone", kEnrolledPod, AF_INET, SOCK_STREAM,
     kVipIpv4, 81, Outcome::kUntouchedFails, nullptr},
    {"an address that is no VIP is left alone", kEnrolledPod, AF_INET, SOCK_STREAM, kPodIpv4, 8080,
     Outcome::kReachesDirectly, nullptr},
    {"a pod that is not enrolled is left alone", kOtherPod, AF_INET, SOCK_STREAM, kVipIpv4, 80,
     Outcome::kUntouchedFails, nullptr},
    {"UDP to a VIP is left alone", kEnrolledPod, AF_INET, SOCK_DGRAM, kVipIpv4, 80,
     Outcome::kUntouchedFails, nullptr},
};

// Connects from inside `pod`, reports, and holds the socket open until told to close.
PodProcess connectFromPod(CaptureLab& lab, const ConnectCase& c) {
  const common::SocketAddress dst = addr(c.ip, c.port);
  return PodProcess(lab.cgroups.app(c.pod), [dst, c](Channel& ch) {
    ClientReport report;
    const int fd = connectTo(dst, c.family, c.type);
    report.connect_errno = fd < 0 ? -fd : 0;
    if (fd >= 0) {
      report.peer_len = sizeof(report.peer);
      getpeername(fd, reinterpret_cast<sockaddr*>(&report.peer), &report.peer_len);
    }
    ch.send(report);
    ch.recv<char>();  // the test has looked at the other end
    return 0;
  });
}

TEST_CASE("connects from pods are captured exactly when they should be", "[bpf][connect]") {
  for (const ConnectCase& c : kConnectCases) {
    SECTION(c.description) {
      CaptureLab lab;
      const common::SocketAddress dst = addr(c.ip, c.port);
      const uint64_t counted_before = c.counter ? lab.counter(c.counter) : 0;
      PodProcess pod = connectFromPod(lab, c);
      std::optional<ClientReport> report = pod.channel().recv<ClientReport>();
      REQUIRE(report);

      switch (c.expected) {
        case Outcome::kCaptured: {
          REQUIRE(report->connect_errno == 0);
          CHECK(report->peerAddress() == dst);  // getpeername shows the VIP
          const int listener = dst.ip.isV4() ? lab.capture_v4.fd : lab.capture_v6.fd;
          Fd accepted(acceptWithin(listener));
          REQUIRE(accepted.fd >= 0);
          auto orig = lab.capture->lookup(peerOf(accepted.fd), localOf(accepted.fd));
          REQUIRE(orig.ok());
          CHECK(orig->address == dst);
          CHECK(orig->cgroup_id == lab.cgroups.podId(c.pod));
          CHECK_FALSE(hasPendingConnection(lab.pod_server.fd));
          break;
        }
        case Outcome::kReachesDirectly: {
          REQUIRE(report->connect_errno == 0);
          CHECK(report->peerAddress() == dst);
          CHECK(hasPendingConnection(lab.pod_server.fd));
          CHECK_FALSE(hasPendingConnection(lab.capture_v4.fd));
          break;
        }
        case Outcome::kUntouchedFails: {
          CHECK(report->connect_errno != 0);
          CHECK_FALSE(hasPendingConnection(lab.capture_v4.fd));
          CHECK_FALSE(hasPendingConnection(lab.capture_v6.fd));
          break;
        }
      }
      if (c.counter) {
        CHECK(lab.counter(c.counter) == counted_before + 1);
      }
      CHECK(lab.counter("sockets_update_failed") == 0);
      pod.channel().send('x');
      CHECK(pod.wait() == 0);
    }
  }
}

TEST_CASE("a lookup for a connection nobody captured says so", "[bpf][connect]") {
  CaptureLab lab;
  auto orig = lab.capture->lookup(addr(kPodIpv4, 40000), addr(kCaptureIpv4, kOutboundPort));
  REQUIRE_FALSE(orig.ok());
  CHECK(orig.status().code() == absl::StatusCode::kNotFound);
}

// Telemetry: the pod sends `sent` bytes and receives `received`, closing in `order`.
enum class CloseOrder { kClientFirst, kServerFirst, kClientHalfCloses };

struct CloseCase {
  const char* description;
  CloseOrder order;
  size_t sent;
  size_t received;
};

const CloseCase kCloseCases[] = {
    {"the pod closes first", CloseOrder::kClientFirst, 1000, 2000},
    {"the server closes first", CloseOrder::kServerFirst, 3000, 100},
    {"the pod half-closes, then reads the answer", CloseOrder::kClientHalfCloses, 70000, 250000},
    {"nothing is sent either way", CloseOrder::kClientFirst, 0, 0},
};

// Waits for close events until one arrives (bounded by the fixture's safety timeout).
std::vector<ConnectionClosed> awaitCloseEvents(agent::capture::Capture& capture) {
  std::vector<ConnectionClosed> events;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, capture.telemetryFd(), &ev);
  for (int i = 0; i < 200 && events.empty(); ++i) {
    epoll_wait(ep, &ev, 1, 100);
    REQUIRE(capture.drainTelemetry([&](const ConnectionClosed& e) { events.push_back(e); }).ok());
  }
  close(ep);
  return events;
}

TEST_CASE("a captured connection's close event counts its bytes exactly", "[bpf][sockops]") {
  for (const CloseCase& c : kCloseCases) {
    SECTION(c.description) {
      CaptureLab lab;
      const common::SocketAddress vip = lab.vip4;
      PodProcess pod(lab.cgroups.app(kEnrolledPod), [vip, c](Channel& ch) {
        const int fd = connectTo(vip, AF_INET);
        if (fd < 0) {
          return 1;
        }
        std::vector<char> out(c.sent, 'p'), in(c.received);
        if (!writeAll(fd, out.data(), out.size())) {
          return 2;
        }
        if (c.order == CloseOrder::kClientHalfCloses) {
          shutdown(fd, SHUT_WR);
        }
        if (!readExactly(fd, in.data(), in.size())) {
          return 3;
        }
        if (c.order != CloseOrder::kClientFirst && !readEof(fd)) {
          return 4;
        }
        close(fd);
        return 0;
      });
      Fd agent(acceptWithin(lab.capture_v4.fd));
      REQUIRE(agent.fd >= 0);
      std::vector<char> in(c.sent), out(c.received, 'a');
      REQUIRE(readExactly(agent.fd, in.data(), in.size()));
      if (c.order == CloseOrder::kClientHalfCloses) {
        REQUIRE(readEof(agent.fd));
      }
      REQUIRE(writeAll(agent.fd, out.data(), out.size()));
      if (c.order == CloseOrder::kClientFirst) {
        REQUIRE(readEof(agent.fd));
      }
      agent = Fd();  // close
      REQUIRE(pod.wait() == 0);

      std::vector<ConnectionClosed> events = awaitCloseEvents(*lab.capture);
      REQUIRE(events.size() == 1);
      const ConnectionClosed& e = events[0];
      CHECK(e.bytes_sent == c.sent);
      CHECK(e.bytes_received == c.received);
      CHECK(e.original_dst == vip);
      CHECK(e.cgroup_id == lab.cgroups.podId(kEnrolledPod));
      CHECK(e.duration_ns > 0);
      CHECK(e.srtt_us > 0);
      CHECK(lab.counter("events_ringbuf_full") == 0);
    }
  }
}

TEST_CASE("a closed connection leaves no record behind", "[bpf][sockops]") {
  CaptureLab lab;
  const common::SocketAddress vip = lab.vip4;
  PodProcess pod(lab.cgroups.app(kEnrolledPod), [vip](Channel& ch) {
    const int fd = connectTo(vip, AF_INET);
    ClientReport r;
    r.connect_errno = fd < 0 ? -fd : 0;
    ch.send(r);
    ch.recv<char>();
    close(fd);
    return 0;
  });
  REQUIRE(pod.channel().recv<ClientReport>()->connect_errno == 0);
  Fd agent(acceptWithin(lab.capture_v4.fd));
  REQUIRE(agent.fd >= 0);
  const common::SocketAddress peer = peerOf(agent.fd), local = localOf(agent.fd);
  REQUIRE(lab.capture->lookup(peer, local).ok());
  pod.channel().send('x');
  REQUIRE(pod.wait() == 0);
  REQUIRE(readEof(agent.fd));
  agent = Fd();
  REQUIRE(awaitCloseEvents(*lab.capture).size() == 1);
  CHECK(lab.capture->lookup(peer, local).status().code() == absl::StatusCode::kNotFound);
  CHECK(mapEntriesOf(lab.bpffs.path() + "/weft_sockets", sizeof(uint64_t)) == 0);
  CHECK(mapEntriesOf(lab.bpffs.path() + "/weft_tuples", 40) == 0);
}

}  // namespace
}  // namespace weft::test
