// In-kernel tests of bpf/pod_ingress.bpf.c (PeerAuthentication STRICT). cgroup_skb programs
// can be test-run: the packets below go through BPF_PROG_TEST_RUN on the program the agent's
// loader attached at the test's kubepods cgroup, with the STRICT map filled through
// Capture::setStrictPorts. test_run takes an Ethernet frame and hands the program the skb
// with its data at the IP header, as the kernel does for a socket's ingress. One test also
// sends real SYNs to a listener in a pod cgroup, to show the program is attached where the
// pods' sockets are.

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/capture/abi.h"
#include "test/agent/testing/wait_for.h"
#include "test/bpf/capture_lab.h"

namespace weft::test {
namespace {

using agent::capture::StrictPort;

constexpr const char* kStrictPod4 = "10.244.1.20";  // STRICT, port 15021 exempt
constexpr const char* kStrictPod6 = "fd00:244:1::20";
constexpr const char* kPermissivePod4 = "10.244.1.21";  // PERMISSIVE, port 9000 STRICT
constexpr const char* kOtherPod4 = "10.244.1.22";       // nothing STRICT: not in the map
constexpr const char* kForeign4 = "10.244.1.30";        // another pod, not the agent
constexpr const char* kForeign6 = "fd00:244:1::30";

constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kTcp = IPPROTO_TCP;
constexpr uint8_t kUdp = IPPROTO_UDP;

constexpr int kPass = 1;
constexpr int kDrop = 0;

struct Packet {
  const char* src;
  const char* dst;
  uint8_t protocol = kTcp;
  uint16_t dst_port = 8080;
  uint8_t tcp_flags = kSyn;
  int extension_headers = 0;  // IPv6: destination-options headers before the transport's
  bool ip_options = false;    // IPv4: a header of 24 bytes instead of 20
};

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}

// An Ethernet frame carrying `p`: what BPF_PROG_TEST_RUN takes for skb programs.
std::vector<uint8_t> frame(const Packet& p) {
  const common::IpAddress src = *common::IpAddress::Parse(p.src);
  const common::IpAddress dst = *common::IpAddress::Parse(p.dst);
  const bool v4 = src.isV4();
  std::vector<uint8_t> b(14, 0);
  put16(b, 12, v4 ? ETH_P_IP : ETH_P_IPV6);
  const size_t ip = b.size();
  if (v4) {
    const size_t header = p.ip_options ? 24 : 20;
    b.resize(ip + header, 0);
    b[ip] = 0x40 | (header / 4);
    b[ip + 8] = 64;
    b[ip + 9] = p.protocol;
    std::copy_n(src.bytes().data() + 12, 4, &b[ip + 12]);
    std::copy_n(dst.bytes().data() + 12, 4, &b[ip + 16]);
  } else {
    b.resize(ip + 40, 0);
    b[ip] = 0x60;
    b[ip + 6] = p.extension_headers > 0 ? 60 : p.protocol;  // 60: destination options
    b[ip + 7] = 64;
    std::copy_n(src.bytes().data(), 16, &b[ip + 8]);
    std::copy_n(dst.bytes().data(), 16, &b[ip + 24]);
    for (int i = 0; i < p.extension_headers; ++i) {
      const size_t ext = b.size();
      b.resize(ext + 8, 0);  // length 0: 8 bytes, PadN
      b[ext] = i + 1 < p.extension_headers ? 60 : p.protocol;
      b[ext + 2] = 1;  // PadN
      b[ext + 3] = 4;
    }
  }
  const size_t l4 = b.size();
  if (p.protocol == kTcp) {
    b.resize(l4 + 20, 0);
    put16(b, l4, 40000);
    put16(b, l4 + 2, p.dst_port);
    b[l4 + 12] = 5 << 4;
    b[l4 + 13] = p.tcp_flags;
    put16(b, l4 + 14, 65535);
  } else {
    b.resize(l4 + 8, 0);
    put16(b, l4, 40000);
    put16(b, l4 + 2, p.dst_port);
    put16(b, l4 + 4, 8);
  }
  const size_t payload = b.size() - ip;
  if (v4) {
    put16(b, ip + 2, payload);
  } else {
    put16(b, ip + 4, payload - 40);
  }
  return b;
}

// The pod_ingress program the loader attached, from its pinned link.
int pinnedProgram(const TestBpffs& bpffs) {
  Fd link(bpf_obj_get((bpffs.path() + "/links/weft_pod_ingress").c_str()));
  if (link.fd < 0) {
    throw std::runtime_error("no pinned link weft_pod_ingress");
  }
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link.fd, &info, &len) != 0) {
    throw std::runtime_error("link info");
  }
  return bpf_prog_get_fd_by_id(info.prog_id);
}

struct StrictLab : CaptureLab {
  Fd program;
  StrictLab() {
    const auto ip = [](const char* s) { return *common::IpAddress::Parse(s); };
    const std::vector<StrictPort> ports{
        {ip(kStrictPod4), 0, true},      {ip(kStrictPod4), 15021, false},
        {ip(kStrictPod6), 0, true},      {ip(kStrictPod6), 15021, false},
        {ip(kPermissivePod4), 0, false}, {ip(kPermissivePod4), 9000, true},
    };
    if (!capture->setStrictPorts(ports).ok()) {
      throw std::runtime_error("cannot fill weft_strict");
    }
    program = Fd(pinnedProgram(bpffs));
  }

  // The program's verdict on `p`; nullopt when the kernel would not run it.
  std::optional<int> verdict(const Packet& p) const {
    const std::vector<uint8_t> data = frame(p);
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = data.data();
    opts.data_size_in = static_cast<uint32_t>(data.size());
    opts.repeat = 1;
    if (bpf_prog_test_run_opts(program.fd, &opts) != 0) {
      return std::nullopt;
    }
    return static_cast<int>(opts.retval);
  }
};

struct IngressCase {
  const char* description;
  Packet packet;
  int expected;
  const char* counter;  // moves by exactly one; nullptr: no drop counter moves
};

const IngressCase kIngressCases[] = {
    {"a SYN from another pod to a STRICT pod is dropped",
     {kForeign4, kStrictPod4},
     kDrop,
     "strict_plaintext_dropped"},
    {"an IPv6 SYN from another pod to a STRICT pod is dropped",
     {kForeign6, kStrictPod6},
     kDrop,
     "strict_plaintext_dropped"},
    {"a SYN behind IPv4 options is still judged",
     {kForeign4, kStrictPod4, kTcp, 8080, kSyn, 0, true},
     kDrop,
     "strict_plaintext_dropped"},
    {"a SYN behind IPv6 extension headers is still judged",
     {kForeign6, kStrictPod6, kTcp, 8080, kSyn, 3},
     kDrop,
     "strict_plaintext_dropped"},
    {"IPv6 with too many extension headers to a STRICT pod is dropped",
     {kForeign6, kStrictPod6, kTcp, 8080, kSyn, 12},
     kDrop,
     "strict_unparsed_dropped"},
    {"a SYN from the agent passes", {kCaptureIpv4, kStrictPod4}, kPass, nullptr},
    {"an IPv6 SYN from the agent passes", {kCaptureIpv6, kStrictPod6}, kPass, nullptr},
    {"a SYN from the pod to itself passes", {kStrictPod4, kStrictPod4}, kPass, nullptr},
    {"a SYN to a port exempt from STRICT passes",
     {kForeign4, kStrictPod4, kTcp, 15021},
     kPass,
     nullptr},
    {"an IPv6 SYN to a port exempt from STRICT passes",
     {kForeign6, kStrictPod6, kTcp, 15021},
     kPass,
     nullptr},
    {"a SYN to a PERMISSIVE pod passes", {kForeign4, kPermissivePod4}, kPass, nullptr},
    {"a SYN to the STRICT port of a PERMISSIVE pod is dropped",
     {kForeign4, kPermissivePod4, kTcp, 9000},
     kDrop,
     "strict_plaintext_dropped"},
    {"a SYN to a pod with nothing STRICT passes", {kForeign4, kOtherPod4}, kPass, nullptr},
    {"a SYN-ACK to a STRICT pod (its own connection's reply) passes",
     {kForeign4, kStrictPod4, kTcp, 40000, kSyn | kAck},
     kPass,
     nullptr},
    {"an ACK to a STRICT pod passes", {kForeign4, kStrictPod4, kTcp, 8080, kAck}, kPass, nullptr},
    {"an IPv6 ACK to a STRICT pod passes",
     {kForeign6, kStrictPod6, kTcp, 8080, kAck},
     kPass,
     nullptr},
    {"UDP to a STRICT pod passes", {kForeign4, kStrictPod4, kUdp, 8080}, kPass, nullptr},
    {"IPv6 UDP to a STRICT pod passes", {kForeign6, kStrictPod6, kUdp, 8080}, kPass, nullptr},
    {"IPv6 UDP behind extension headers passes",
     {kForeign6, kStrictPod6, kUdp, 8080, 0, 2},
     kPass,
     nullptr},
};

TEST_CASE("connection attempts to STRICT pods pass only from the agent or the pod itself",
          "[bpf][pod_ingress]") {
  StrictLab lab;
  REQUIRE(lab.program.fd >= 0);
  for (const IngressCase& c : kIngressCases) {
    SECTION(c.description) {
      const uint64_t plaintext = lab.counter("strict_plaintext_dropped");
      const uint64_t unparsed = lab.counter("strict_unparsed_dropped");
      CHECK(lab.verdict(c.packet).value_or(-1) == c.expected);  // -1: test_run failed
      const std::string counter = c.counter ? c.counter : "";
      CHECK(lab.counter("strict_plaintext_dropped") - plaintext ==
            (counter == "strict_plaintext_dropped" ? 1 : 0));
      CHECK(lab.counter("strict_unparsed_dropped") - unparsed ==
            (counter == "strict_unparsed_dropped" ? 1 : 0));
    }
  }
}

TEST_CASE("clearing the STRICT entries lets every connection attempt through",
          "[bpf][pod_ingress]") {
  StrictLab lab;
  REQUIRE(lab.verdict({kForeign4, kStrictPod4}) == kDrop);
  REQUIRE(lab.capture->setStrictPorts({}).ok());
  CHECK(lab.verdict({kForeign4, kStrictPod4}) == kPass);
  CHECK(lab.verdict({kForeign4, kPermissivePod4, kTcp, 9000}) == kPass);
  CHECK(mapEntriesOf(lab.bpffs.path() + "/" WEFT_MAP_STRICT, sizeof(weft_strict_key)) == 0);
}

void addAddress(const char* ip) {
  const std::string cmd = std::string("ip addr add ") + ip + "/32 dev lo";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("failed: " + cmd);
  }
}

// A non-blocking connect from `src` to `dst`; the SYN is on its way when this returns.
Fd connectFrom(const char* src, const common::SocketAddress& dst) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_storage ss;
  const common::SocketAddress from = addr(src, 0);
  socklen_t len = from.toSockaddr(&ss);
  if (bind(fd.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    throw std::runtime_error(std::string("bind to ") + src + " failed");
  }
  len = dst.toSockaddr(&ss);
  connect(fd.fd, reinterpret_cast<sockaddr*>(&ss), len);
  return fd;
}

TEST_CASE("a STRICT pod's listener never sees another pod's SYN and accepts the agent's",
          "[bpf][pod_ingress]") {
  StrictLab lab;
  addAddress(kStrictPod4);
  addAddress(kForeign4);
  const common::SocketAddress server = addr(kStrictPod4, 8080);
  // The listener belongs to the pod's cgroup, below the kubepods cgroup the program is on.
  PodProcess pod(lab.cgroups.app(kEnrolledPod), [](Channel& ch) {
    Fd listener(listenOn(kStrictPod4, 8080));
    ch.send(static_cast<char>(listener.fd >= 0 ? 'L' : 'E'));
    while (auto command = ch.recv<char>()) {
      if (*command == 'p') {  // anything waiting?
        ch.send(static_cast<char>(hasPendingConnection(listener.fd) ? 'y' : 'n'));
      } else if (*command == 'a') {  // accept and say from where
        Fd accepted(acceptWithin(listener.fd));
        ch.send(accepted.fd >= 0 ? peerOf(accepted.fd) : common::SocketAddress{});
      } else {
        return 0;
      }
    }
    return 1;
  });
  REQUIRE(pod.channel().recv<char>() == 'L');

  const uint64_t dropped = lab.counter("strict_plaintext_dropped");
  Fd foreign = connectFrom(kForeign4, server);
  REQUIRE(waitFor([&] { return lab.counter("strict_plaintext_dropped") > dropped; }));
  pod.channel().send('p');
  CHECK(pod.channel().recv<char>() == 'n');

  Fd agent = connectFrom(kCaptureIpv4, server);
  pod.channel().send('a');
  const std::optional<common::SocketAddress> peer = pod.channel().recv<common::SocketAddress>();
  REQUIRE(peer);
  CHECK(peer->ip == addr(kCaptureIpv4, 0).ip);
  pod.channel().send('q');
  CHECK(pod.wait() == 0);
}

}  // namespace
}  // namespace weft::test
