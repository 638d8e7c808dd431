#pragma once

// What the control thread needs from the BPF data plane (capture::Capture implements it
// through CaptureDataPlane); an interface so the control loop is tested without a kernel.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/capture/capture.h"
#include "common/net/address.h"

namespace weft::agent::control {

class DataPlane {
 public:
  virtual ~DataPlane() = default;
  virtual absl::Status setEnrolledCgroups(std::span<const uint64_t> cgroup_ids) = 0;
  virtual absl::Status setServices(std::span<const capture::CapturedService> services) = 0;
  virtual absl::Status setStrictPorts(std::span<const capture::StrictPort> ports) = 0;
  // Readable when telemetry events are pending; -1 when there is no telemetry.
  virtual int telemetryFd() const = 0;
  virtual absl::Status drainTelemetry(
      const std::function<void(const capture::ConnectionClosed&)>& on_close) = 0;
  // The data plane's reason counters (what it did, and why it did not), as running totals.
  virtual absl::StatusOr<std::vector<capture::Capture::Counter>> counters() const = 0;
};

// Finds the cgroup id of a pod by its UID (kubelet layout below the node's cgroup root).
class CgroupResolver {
 public:
  virtual ~CgroupResolver() = default;
  virtual absl::StatusOr<uint64_t> podCgroupId(const std::string& uid) = 0;
};

}  // namespace weft::agent::control
