#pragma once

// Turns the kernel's per-connection telemetry (sockops, emitted at close) into metrics.

#include "agent/capture/capture.h"
#include "agent/config/config_snapshot.h"
#include "agent/telemetry/metrics.h"

namespace weft::agent::telemetry {

// Records the RTT of one closed captured connection. `source` is the workload that owns the
// event's cgroup, nullptr when it is not (or no longer) known; the destination service is
// found by the original destination in `snapshot`.
void recordConnectionClosed(const capture::ConnectionClosed& event,
                            const config::ConfigSnapshot& snapshot,
                            const config::WorkloadInfo* source, Metrics& metrics);

}  // namespace weft::agent::telemetry
