#include "agent/telemetry/metrics.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/run_command.h"
#include "test/agent/testing/temp_dir.h"

namespace weft::agent::telemetry {
namespace {

const ConnectionLabels kLabels{
    .source_workload = "client",
    .source_namespace = "shop",
    .destination_service = "web.default.svc.cluster.local",
    .destination_workload = "web",
    .destination_namespace = "default",
};

using test::CommandResult;
using test::runCommand;

TEST_CASE("a label set resolves to the same counters every time") {
  Metrics metrics;
  const ConnectionCounters a = metrics.connectionCounters(kLabels);
  const ConnectionCounters b = metrics.connectionCounters(kLabels);
  CHECK(a.opened == b.opened);
  CHECK(a.sent_bytes == b.sent_bytes);
  ConnectionLabels other = kLabels;
  other.destination_workload = "web-v2";
  CHECK(metrics.connectionCounters(other).opened != a.opened);
}

TEST_CASE("connection counters are exported with the source reporter's labels") {
  Metrics metrics;
  const ConnectionCounters c = metrics.connectionCounters(kLabels);
  c.opened->Increment();
  c.received_bytes->Increment(1234567);
  c.sent_bytes->Increment(89);
  const std::map<std::string, std::string> labels = {
      {"reporter", "source"},          {"source_workload", "client"},
      {"source_namespace", "shop"},    {"destination_service", "web.default.svc.cluster.local"},
      {"destination_workload", "web"}, {"destination_namespace", "default"}};
  const auto& registry = *metrics.registry();
  CHECK(test::counterValue(registry, "weft_tcp_connections_opened_total", labels) == 1);
  CHECK(test::counterValue(registry, "weft_tcp_received_bytes_total", labels) == 1234567);
  CHECK(test::counterValue(registry, "weft_tcp_sent_bytes_total", labels) == 89);
  CHECK(test::counterValue(registry, "weft_tcp_connections_closed_total", labels) == 0);
}

TEST_CASE("every failure reason is exported from the start, at zero") {
  Metrics metrics;
  metrics.countFailure(FailureReason::kConnectTimeout);
  const auto& registry = *metrics.registry();
  for (size_t i = 0; i < static_cast<size_t>(FailureReason::kCount); ++i) {
    const std::string reason(failureReasonName(static_cast<FailureReason>(i)));
    INFO(reason);
    CHECK(test::counterValue(registry, "weft_proxy_failures_total", {{"reason", reason}}) ==
          (reason == "connect_timeout" ? 1 : 0));
  }
}

TEST_CASE("relay modes and fast-path fallback reasons are exported from the start, at zero") {
  Metrics metrics;
  metrics.countRelay(RelayMode::kFastPath);
  metrics.countFastPathFallback(FastPathFallbackReason::kMapFull);
  const auto& registry = *metrics.registry();
  CHECK(test::counterValue(registry, "weft_proxy_relays_total", {{"mode", "fast_path"}}) == 1);
  CHECK(test::counterValue(registry, "weft_proxy_relays_total", {{"mode", "buffered"}}) == 0);
  for (size_t i = 0; i < static_cast<size_t>(FastPathFallbackReason::kCount); ++i) {
    const std::string reason(fastPathFallbackReasonName(static_cast<FastPathFallbackReason>(i)));
    INFO(reason);
    CHECK(test::counterValue(registry, "weft_proxy_fast_path_fallbacks_total",
                             {{"reason", reason}}) == (reason == "map_full" ? 1 : 0));
  }
}

TEST_CASE("BPF event counters follow the kernel's totals, also across a map reset") {
  Metrics metrics;
  const auto value = [&](const std::string& reason) {
    return test::counterValue(*metrics.registry(), "weft_bpf_events_total", {{"reason", reason}});
  };
  CHECK_FALSE(value("captured_v4").has_value());
  metrics.setBpfEventTotal("captured_v4", 5);
  metrics.setBpfEventTotal("captured_v4", 5);
  CHECK(value("captured_v4") == 5);
  metrics.setBpfEventTotal("captured_v4", 12);
  CHECK(value("captured_v4") == 12);
  // The maps were recreated (pins removed and reloaded): the kernel counts from 0 again, and
  // the exported counter keeps growing by what the new maps counted.
  metrics.setBpfEventTotal("captured_v4", 2);
  CHECK(value("captured_v4") == 14);
}

TEST_CASE("config reloads are counted by result") {
  Metrics metrics;
  metrics.countConfigUpdate(false);
  metrics.countConfigUpdate(false);
  metrics.countConfigUpdate(true);
  const auto& registry = *metrics.registry();
  CHECK(test::counterValue(registry, "weft_config_updates_total", {{"result", "rejected"}}) == 2);
  CHECK(test::counterValue(registry, "weft_config_updates_total", {{"result", "accepted"}}) == 1);
}

TEST_CASE("the rendered metrics pass promtool check metrics") {
  // promtool ships in Debian's prometheus package, which the README's setup installs.
  const CommandResult which = runCommand("command -v promtool");
  REQUIRE(which.exit_code == 0);

  Metrics metrics;
  const ConnectionCounters c = metrics.connectionCounters(kLabels);
  c.opened->Increment();
  c.closed->Increment();
  c.received_bytes->Increment(100);
  c.sent_bytes->Increment(200);
  metrics.countFailure(FailureReason::kNoEndpoints);
  metrics.countConfigUpdate(true);
  metrics.countRelay(RelayMode::kFastPath);
  metrics.setBpfEventTotal("fast_path_target_gone", 3);
  metrics.observeRtt({.source_workload = "client",
                      .source_namespace = "shop",
                      .destination_service = "web.default.svc.cluster.local"},
                     0.00042);
  const std::string text = metrics.render();
  CHECK_THAT(text, Catch::Contains("weft_tcp_rtt_seconds_bucket"));
  CHECK_THAT(text, Catch::Contains("# HELP weft_tcp_sent_bytes_total"));

  test::TempDir dir;
  const std::string path = dir.path() + "/metrics.txt";
  std::ofstream(path) << text;
  const CommandResult check = runCommand("promtool check metrics < " + path);
  INFO(check.output);
  CHECK(check.exit_code == 0);
  CHECK(check.output.empty());
}

}  // namespace
}  // namespace weft::agent::telemetry
