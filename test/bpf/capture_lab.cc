#include "test/bpf/capture_lab.h"

#include <optional>
#include <stdexcept>
#include <vector>

namespace weft::test {

CaptureLab::CaptureLab() {
  if (capture_v4.fd < 0 || capture_v6.fd < 0 || pod_server.fd < 0) {
    throw std::runtime_error("cannot listen in the test namespace");
  }
  auto opened = open();
  if (!opened.ok()) {
    throw std::runtime_error(std::string(opened.status().message()));
  }
  capture = std::move(*opened);
  const std::vector<uint64_t> enrolled{cgroups.podId(kEnrolledPod)};
  const std::vector<agent::capture::CapturedService> services{{vip4}, {vip6}};
  if (!capture->setEnrolledCgroups(enrolled).ok() || !capture->setServices(services).ok()) {
    throw std::runtime_error("cannot fill the capture maps");
  }
}

absl::StatusOr<std::unique_ptr<agent::capture::Capture>> CaptureLab::open(
    uint16_t outbound_port) const {
  return agent::capture::Capture::open(
      captureOptions(bpffs.path(), cgroups.kubepods(), outbound_port));
}

uint64_t CaptureLab::counter(const std::string& name) const {
  auto counters = capture->counters();
  if (!counters.ok()) {
    throw std::runtime_error(std::string(counters.status().message()));
  }
  for (const auto& c : *counters) {
    if (c.name == name) {
      return c.value;
    }
  }
  throw std::runtime_error("no counter " + name);
}

PodDial::PodDial(const CaptureLab& lab, const char* pod, const common::SocketAddress& dst,
                 int family) {
  process_ = std::make_unique<PodProcess>(lab.cgroups.app(pod), [dst, family](Channel& ch) {
    ClientReport report;
    const int fd = connectTo(dst, family);
    report.connect_errno = fd < 0 ? -fd : 0;
    if (fd >= 0) {
      report.peer_len = sizeof(report.peer);
      getpeername(fd, reinterpret_cast<sockaddr*>(&report.peer), &report.peer_len);
    }
    ch.send(report);
    ch.recv<char>();
    return 0;
  });
  std::optional<ClientReport> r = process_->channel().recv<ClientReport>();
  if (r) {
    report_ = *r;
    reported_ = true;
  }
}

PodDial::~PodDial() {
  process_->channel().send('x');
  process_->wait();
}

}  // namespace weft::test
