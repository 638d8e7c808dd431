#pragma once

// The real DataPlane and CgroupResolver, backed by agent/capture. Only weft-agent links
// these; everything else is tested against fakes.

#include <string>

#include "agent/capture/capture.h"
#include "agent/control/data_plane.h"

namespace weft::agent::control {

class CaptureDataPlane : public DataPlane {
 public:
  explicit CaptureDataPlane(capture::Capture& capture) : capture_(capture) {}

  absl::Status setEnrolledCgroups(std::span<const uint64_t> cgroup_ids) override {
    return capture_.setEnrolledCgroups(cgroup_ids);
  }
  absl::Status setServices(std::span<const capture::CapturedService> services) override {
    return capture_.setServices(services);
  }
  absl::Status setStrictPorts(std::span<const capture::StrictPort> ports) override {
    return capture_.setStrictPorts(ports);
  }
  int telemetryFd() const override { return capture_.telemetryFd(); }
  absl::Status drainTelemetry(
      const std::function<void(const capture::ConnectionClosed&)>& on_close) override {
    return capture_.drainTelemetry(on_close);
  }
  absl::StatusOr<std::vector<capture::Capture::Counter>> counters() const override {
    return capture_.counters();
  }

 private:
  capture::Capture& capture_;
};

class KubeletCgroupResolver : public CgroupResolver {
 public:
  explicit KubeletCgroupResolver(std::string cgroup_root) : root_(std::move(cgroup_root)) {}

  absl::StatusOr<uint64_t> podCgroupId(const std::string& uid) override {
    auto path = capture::findPodCgroup(root_, uid);
    if (!path.ok()) {
      return path.status();
    }
    return capture::cgroupId(*path);
  }

 private:
  std::string root_;
};

}  // namespace weft::agent::control
