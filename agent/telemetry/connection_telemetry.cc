#include "agent/telemetry/connection_telemetry.h"

namespace weft::agent::telemetry {

void recordConnectionClosed(const capture::ConnectionClosed& event,
                            const config::ConfigSnapshot& snapshot,
                            const config::WorkloadInfo* source, Metrics& metrics) {
  // sockops reports 0 when the connection never got an RTT sample; that is no measurement,
  // not a zero-latency connection.
  if (event.srtt_us == 0) {
    return;
  }
  const config::ServiceTarget* service = snapshot.findService(event.original_dst);
  metrics.observeRtt(
      RttLabels{
          .source_workload = source != nullptr ? source->workload_label : "unknown",
          .source_namespace = source != nullptr ? source->namespace_name : "unknown",
          .destination_service = service != nullptr ? service->fqdn : "unknown",
      },
      static_cast<double>(event.srtt_us) / 1e6);
}

}  // namespace weft::agent::telemetry
