#include "common/http/prometheus_routes.h"

#include <iterator>

#include "prometheus/text_serializer.h"

namespace weft::common::http {

std::string renderMetrics(
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& collectable : collectables) {
    std::vector<prometheus::MetricFamily> more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

void addMetricsAndHealthRoutes(Server& server,
                               std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  server.route("/metrics", [collectables = std::move(collectables)](const Request&) {
    return Response{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                    .body = renderMetrics(collectables)};
  });
  server.route("/healthz", [](const Request&) { return Response{.body = "ok\n"}; });
}

}  // namespace weft::common::http
