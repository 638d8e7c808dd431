#include "agent/control/strict_ports.h"

#include <algorithm>

#include "agent/policy/peer_authentication.h"

namespace weft::agent::control {

std::vector<capture::StrictPort> strictPorts(const config::ConfigSnapshot& snapshot) {
  std::vector<capture::StrictPort> out;
  const auto workloads = snapshot.workloads();
  for (size_t i = 0; i < workloads.size(); ++i) {
    if (!workloads[i].mesh_enabled) {
      continue;
    }
    const api::v1alpha1::Workload& workload = snapshot.config().workloads(i);
    const bool pod_strict = !policy::acceptsPlaintext(policy::workloadMtlsMode(workload));
    std::vector<capture::StrictPort> exceptions;
    for (const auto& [port, mode] : workload.port_mtls_modes()) {
      const bool strict = !policy::acceptsPlaintext(
          policy::effectiveMtlsMode(workload, static_cast<uint16_t>(port)));
      if (strict != pod_strict) {
        exceptions.push_back({workloads[i].ip, static_cast<uint16_t>(port), strict});
      }
    }
    const bool any_strict =
        pod_strict || std::any_of(exceptions.begin(), exceptions.end(),
                                  [](const capture::StrictPort& p) { return p.strict; });
    if (!any_strict) {
      continue;
    }
    out.push_back({workloads[i].ip, 0, pod_strict});
    out.insert(out.end(), exceptions.begin(), exceptions.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace weft::agent::control
