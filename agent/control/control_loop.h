#pragma once

// The control thread's periodic work: config reload (file mode), pod cgroup rescan, keeping the BPF
// enrolment, service and STRICT maps in step, draining kernel telemetry into metrics, and copying
// the data plane's reason counters into weft_bpf_events_total. Runs on
// the io_context the admin server also uses; workers never wait on it.

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <vector>

#include "agent/config/config_reloader.h"
#include "agent/config/config_store.h"
#include "agent/control/data_plane.h"
#include "agent/control/pod_cgroups.h"
#include "agent/telemetry/metrics.h"

namespace weft::agent::control {

struct ControlOptions {
  // Config mtime poll, cgroup rescan and BPF counter refresh period.
  std::chrono::milliseconds tick{1000};
  // Services with an endpoint on this node are marked for the same-node fast path.
  bool same_node_fast_path = false;
};

class ControlLoop {
 public:
  // `reloader` is the --config file's; null when the config stream publishes to `store`
  // (then configChanged() is called on the io_context after each new snapshot).
  ControlLoop(asio::io_context& io, config::ConfigReloader* reloader,
              const config::ConfigStore& store, telemetry::Metrics& metrics, DataPlane& data_plane,
              CgroupResolver& resolver, ControlOptions options = {});

  // Syncs the data plane with the current config, then schedules the periodic work and the
  // telemetry drain on the io_context.
  void start();
  // One round of periodic work; start() schedules it every options.tick.
  void tick();
  // A new snapshot was published to the store: bring the data plane in step now rather than
  // at the next tick.
  void configChanged() { sync(/*force=*/!ready_); }
  // Config loaded and the data plane holds the current enrolment, services and STRICT ports.
  bool ready() const { return ready_; }
  const PodCgroups& podCgroups() const { return pod_cgroups_; }

 private:
  void sync(bool force);
  std::vector<capture::CapturedService> capturedServices(
      const config::ConfigSnapshot& snapshot) const;
  void scheduleTick();
  void waitTelemetry();
  void drainTelemetry();
  void refreshBpfCounters();

  asio::io_context& io_;
  config::ConfigReloader* reloader_;
  const config::ConfigStore& store_;
  telemetry::Metrics& metrics_;
  DataPlane& data_plane_;
  PodCgroups pod_cgroups_;
  ControlOptions options_;
  asio::steady_timer timer_;
  asio::posix::stream_descriptor telemetry_;
  std::vector<uint64_t> pushed_cgroups_;
  std::vector<capture::CapturedService> pushed_services_;
  std::vector<capture::StrictPort> pushed_strict_ports_;
  bool ready_ = false;
  bool counters_failing_ = false;  // logged once per failure streak, not every tick
};

}  // namespace weft::agent::control
