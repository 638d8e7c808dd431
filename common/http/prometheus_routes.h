#pragma once

// The endpoints every weft binary's admin server has: /metrics (the Prometheus text of a
// registry) and /healthz (the process answers). The agent (15020) and the operator (15014)
// add their own /ready and debug routes.

#include <memory>
#include <string>
#include <vector>

#include "common/http/server.h"
#include "prometheus/registry.h"

namespace weft::common::http {

// The Prometheus text exposition of everything the collectables hold now.
std::string renderMetrics(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

// /metrics serializes what every collectable (a registry, or a custom collector that reads
// counters kept elsewhere) holds at the time of the scrape.
void addMetricsAndHealthRoutes(Server& server,
                               std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

}  // namespace weft::common::http
