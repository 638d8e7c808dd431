#pragma once

// The shared setup of the capture tests: a namespace with the agent's capture listeners
// and a plain pod server, two pods (one enrolled), the data plane loaded at the pods'
// kubepods cgroup with one IPv4 and one IPv6 service.

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "agent/capture/capture.h"
#include "test/bpf/lab_fixture.h"

namespace weft::test {

inline constexpr const char* kEnrolledPod = "11111111-2222-3333-4444-555555555555";
inline constexpr const char* kOtherPod = "99999999-8888-7777-6666-555555555555";

inline agent::capture::CaptureOptions captureOptions(const std::string& bpffs,
                                                     const std::string& cgroup_root,
                                                     uint16_t outbound_port = kOutboundPort) {
  agent::capture::CaptureOptions o;
  o.bpffs_root = bpffs;
  o.cgroup_root = cgroup_root;
  o.agent_ipv4 = *common::IpAddress::Parse(kCaptureIpv4);
  o.agent_ipv6 = *common::IpAddress::Parse(kCaptureIpv6);
  o.outbound_port = outbound_port;
  return o;
}

// Owns a listening or connected socket.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

// What a pod's client saw.
struct ClientReport {
  int connect_errno = 0;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;

  common::SocketAddress peerAddress() const {
    auto a =
        common::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&peer), peer_len);
    return a.ok() ? *a : common::SocketAddress{};
  }
};

struct CaptureLab {
  TestNetns netns;
  TestCgroups cgroups{{kEnrolledPod, kOtherPod}};
  TestBpffs bpffs;
  Fd capture_v4{listenOn(kCaptureIpv4, kOutboundPort)};
  Fd capture_v6{listenOn(kCaptureIpv6, kOutboundPort)};
  Fd pod_server{listenOn(kPodIpv4, 8080)};
  common::SocketAddress vip4 = addr(kVipIpv4, 80);
  common::SocketAddress vip6 = addr(kVipIpv6, 80);
  std::unique_ptr<agent::capture::Capture> capture;

  CaptureLab();
  // Opens the data plane (again) with the standard options.
  absl::StatusOr<std::unique_ptr<agent::capture::Capture>> open(
      uint16_t outbound_port = kOutboundPort) const;
  uint64_t counter(const std::string& name) const;
};

// A connection a pod process makes to `dst`, held open until this is destroyed.
class PodDial {
 public:
  PodDial(const CaptureLab& lab, const char* pod, const common::SocketAddress& dst,
          int family = AF_INET);
  ~PodDial();
  bool connected() const { return reported_ && report_.connect_errno == 0; }
  const ClientReport& report() const { return report_; }

 private:
  std::unique_ptr<PodProcess> process_;
  ClientReport report_;
  bool reported_ = false;
};

}  // namespace weft::test
