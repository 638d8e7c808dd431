#include "common/http/prometheus_routes.h"

#include "prometheus/text_serializer.h"

namespace weft::common::http {

void addMetricsAndHealthRoutes(Server& server, std::shared_ptr<prometheus::Registry> registry) {
  server.route("/metrics", [registry = std::move(registry)](const Request&) {
    return Response{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                    .body = prometheus::TextSerializer().Serialize(registry->Collect())};
  });
  server.route("/healthz", [](const Request&) { return Response{.body = "ok\n"}; });
}

}  // namespace weft::common::http
