#pragma once

// The endpoints every weft binary's admin server has: /metrics (the Prometheus text of a
// registry) and /healthz (the process answers). The agent (15020) and the operator (15014)
// add their own /ready and debug routes.

#include <memory>

#include "common/http/server.h"
#include "prometheus/registry.h"

namespace weft::common::http {

void addMetricsAndHealthRoutes(Server& server, std::shared_ptr<prometheus::Registry> registry);

}  // namespace weft::common::http
