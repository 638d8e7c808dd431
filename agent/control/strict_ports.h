#pragma once

// Which pods and ports the kernel holds to PeerAuthentication STRICT (capture::StrictPort,
// bpf/pod_ingress.bpf.c), computed from a config snapshot. Pure, so the mapping from modes to
// map entries is unit-tested without a kernel.

#include <vector>

#include "agent/capture/capture.h"
#include "agent/config/config_snapshot.h"

namespace weft::agent::control {

// For each enrolled local workload with a STRICT port: its default (port 0, STRICT or not)
// and the ports whose mode differs from that default. Workloads not in the mesh, and
// workloads with nothing STRICT, get no entry: the kernel never judges their traffic.
// Sorted, so an unchanged config yields an equal vector.
std::vector<capture::StrictPort> strictPorts(const config::ConfigSnapshot& snapshot);

}  // namespace weft::agent::control
