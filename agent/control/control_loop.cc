#include "agent/control/control_loop.h"

#include <unistd.h>

#include "agent/control/strict_ports.h"
#include "agent/telemetry/connection_telemetry.h"
#include "spdlog/spdlog.h"

namespace weft::agent::control {
namespace {

// Hands `wanted` to the data plane when it differs from what the data plane holds (or when
// forced); false when the data plane refused it, and the next sync tries again.
template <typename T, typename Set>
bool push(bool force, std::vector<T> wanted, std::vector<T>& pushed, const Set& set,
          const char* what) {
  if (!force && wanted == pushed) {
    return true;
  }
  if (auto status = set(wanted); !status.ok()) {
    spdlog::error("updating {} failed: {}", what, std::string(status.message()));
    return false;
  }
  pushed = std::move(wanted);
  return true;
}

}  // namespace

ControlLoop::ControlLoop(asio::io_context& io, config::ConfigReloader* reloader,
                         const config::ConfigStore& store, telemetry::Metrics& metrics,
                         DataPlane& data_plane, CgroupResolver& resolver, ControlOptions options)
    : io_(io),
      reloader_(reloader),
      store_(store),
      metrics_(metrics),
      data_plane_(data_plane),
      pod_cgroups_(resolver),
      options_(options),
      timer_(io),
      telemetry_(io) {}

void ControlLoop::start() {
  sync(/*force=*/true);
  refreshBpfCounters();
  scheduleTick();
  const int fd = data_plane_.telemetryFd();
  if (fd >= 0) {
    // The descriptor closes what it holds; the data plane keeps its own fd.
    asio::error_code ec;
    telemetry_.assign(::dup(fd), ec);
    if (ec) {
      spdlog::error("telemetry disabled: cannot watch fd {}: {}", fd, ec.message());
      return;
    }
    waitTelemetry();
  }
}

std::vector<capture::CapturedService> ControlLoop::capturedServices(
    const config::ConfigSnapshot& snapshot) const {
  std::vector<capture::CapturedService> services;
  for (const common::SocketAddress& vip : snapshot.serviceAddresses()) {
    const config::ServiceTarget* target = snapshot.findService(vip);
    services.push_back({
        .vip = vip,
        .fast_path = options_.same_node_fast_path && target->has_local_endpoint,
    });
  }
  return services;
}

void ControlLoop::tick() {
  if (reloader_ != nullptr) {
    const config::ReloadResult result = reloader_->reloadIfChanged();
    if (result != config::ReloadResult::kUnchanged) {
      metrics_.countConfigUpdate(result == config::ReloadResult::kAccepted);
    }
  }
  sync(/*force=*/!ready_);
  refreshBpfCounters();
}

void ControlLoop::sync(bool force) {
  const config::ConfigSnapshotPtr snapshot = store_.current();
  if (snapshot == nullptr) {
    ready_ = false;
    return;
  }
  pod_cgroups_.refresh(*snapshot);
  bool ok = push(
      force, pod_cgroups_.enrolledCgroups(), pushed_cgroups_,
      [this](std::span<const uint64_t> ids) { return data_plane_.setEnrolledCgroups(ids); },
      "enrolled pods");
  ok &= push(
      force, capturedServices(*snapshot), pushed_services_,
      [this](std::span<const capture::CapturedService> s) { return data_plane_.setServices(s); },
      "captured services");
  ok &= push(
      force, strictPorts(*snapshot), pushed_strict_ports_,
      [this](std::span<const capture::StrictPort> p) { return data_plane_.setStrictPorts(p); },
      "STRICT pod ports");
  ready_ = ok;
}

void ControlLoop::refreshBpfCounters() {
  auto counters = data_plane_.counters();
  if (!counters.ok()) {
    if (!counters_failing_) {
      spdlog::warn("reading the data plane's counters failed: {}",
                   std::string(counters.status().message()));
    }
    counters_failing_ = true;
    return;
  }
  counters_failing_ = false;
  for (const capture::Capture::Counter& counter : *counters) {
    metrics_.setBpfEventTotal(counter.name, counter.value);
  }
}

void ControlLoop::scheduleTick() {
  timer_.expires_after(options_.tick);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) {
      return;
    }
    tick();
    scheduleTick();
  });
}

void ControlLoop::waitTelemetry() {
  telemetry_.async_wait(asio::posix::stream_descriptor::wait_read,
                        [this](const asio::error_code& ec) {
                          if (ec) {
                            return;
                          }
                          drainTelemetry();
                          waitTelemetry();
                        });
}

void ControlLoop::drainTelemetry() {
  const config::ConfigSnapshotPtr snapshot = store_.current();
  const auto status = data_plane_.drainTelemetry([&](const capture::ConnectionClosed& event) {
    if (snapshot == nullptr) {
      return;
    }
    const config::WorkloadInfo* source =
        snapshot->findWorkloadByUid(pod_cgroups_.uidOf(event.cgroup_id));
    telemetry::recordConnectionClosed(event, *snapshot, source, metrics_);
  });
  if (!status.ok()) {
    spdlog::warn("draining telemetry failed: {}", std::string(status.message()));
  }
}

}  // namespace weft::agent::control
