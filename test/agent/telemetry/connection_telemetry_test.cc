#include "agent/telemetry/connection_telemetry.h"

#include <catch2/catch.hpp>

#include "agent/config/config_loader.h"
#include "test/agent/testing/test_config.h"

namespace weft::agent::telemetry {
namespace {

using common::IpAddress;
using common::SocketAddress;

config::ConfigSnapshotPtr snapshot() {
  auto config = config::parseNodeConfigJson(config::testing::kGoodConfigJson);
  REQUIRE(config.ok());
  auto s = config::buildSnapshot(*config, "node1", absl::Now());
  REQUIRE(s.ok());
  return *s;
}

// The histogram's sample count and sum for one label set, from the registry.
std::pair<uint64_t, double> rttSamples(const Metrics& metrics, const std::string& source,
                                       const std::string& service) {
  for (const auto& family : metrics.registry()->Collect()) {
    if (family.name != "weft_tcp_rtt_seconds") {
      continue;
    }
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) {
        labels[l.name] = l.value;
      }
      if (labels["source_workload"] == source && labels["destination_service"] == service &&
          labels["reporter"] == "source") {
        return {m.histogram.sample_count, m.histogram.sample_sum};
      }
    }
  }
  return {0, 0};
}

TEST_CASE("a closed connection's RTT is recorded under its workload and service") {
  const auto s = snapshot();
  Metrics metrics;
  capture::ConnectionClosed event{
      .cgroup_id = 7,
      .original_dst = {*IpAddress::Parse("10.96.0.10"), 80},
      .srtt_us = 250,
  };
  recordConnectionClosed(event, *s, s->findWorkloadByUid("uid-client"), metrics);
  recordConnectionClosed(event, *s, s->findWorkloadByUid("uid-client"), metrics);
  const auto [count, sum] = rttSamples(metrics, "client", "web.default.svc.cluster.local");
  CHECK(count == 2);
  CHECK(sum == Approx(0.0005));
}

TEST_CASE("unknown workloads and services are labelled unknown, missing RTTs skipped") {
  const auto s = snapshot();
  Metrics metrics;
  capture::ConnectionClosed event{
      .cgroup_id = 7,
      .original_dst = {*IpAddress::Parse("10.96.9.9"), 80},
      .srtt_us = 1000,
  };
  recordConnectionClosed(event, *s, nullptr, metrics);
  CHECK(rttSamples(metrics, "unknown", "unknown").first == 1);
  event.srtt_us = 0;
  recordConnectionClosed(event, *s, nullptr, metrics);
  CHECK(rttSamples(metrics, "unknown", "unknown").first == 1);
}

}  // namespace
}  // namespace weft::agent::telemetry
