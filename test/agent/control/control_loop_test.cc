#include "agent/control/control_loop.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_replace.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/test_config.h"

namespace weft::agent::control {
namespace {

using common::IpAddress;
using common::SocketAddress;

class FakeResolver : public CgroupResolver {
 public:
  absl::StatusOr<uint64_t> podCgroupId(const std::string& uid) override {
    ++lookups;
    auto it = ids.find(uid);
    if (it == ids.end()) {
      return absl::NotFoundError("no pod" + uid);
    }
    return it->second;
  }
  absl::flat_hash_map<std::string, uint64_t> ids;
  int lookups = 0;
};

// Records what the control loop pushed; telemetry arrives through a pipe.
class FakeDataPlane : public DataPlane {
 public:
  FakeDataPlane() { REQUIRE(::pipe(pipe_) == 0); }
  ~FakeDataPlane() override {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  absl::Status setEnrolledCgroups(std::span<const uint64_t> ids) override {
    ++cgroup_updates;
    if (fail) {
      return absl::UnavailableError("map update failed");
    }
    cgroups.assign(ids.begin(), ids.end());
    return absl::OkStatus();
  }
  absl::Status setServices(std::span<const capture::CapturedService> pushed) override {
    ++service_updates;
    services.assign(pushed.begin(), pushed.end());
    return absl::OkStatus();
  }
  absl::Status setStrictPorts(std::span<const capture::StrictPort> pushed) override {
    ++strict_updates;
    if (strict_fail) {
      return absl::ResourceExhaustedError("map full");
    }
    strict_ports.assign(pushed.begin(), pushed.end());
    return absl::OkStatus();
  }
  int telemetryFd() const override { return pipe_[0]; }
  absl::Status drainTelemetry(
      const std::function<void(const capture::ConnectionClosed&)>& on_close) override {
    char byte;
    while (::read(pipe_[0], &byte, 1) != 1) {
    }
    for (const auto& event : pending) {
      on_close(event);
    }
    pending.clear();
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<capture::Capture::Counter>> counters() const override {
    if (counters_fail) {
      return absl::InternalError("stats map unreadable");
    }
    return kernel_counters;
  }
  void emit(const capture::ConnectionClosed& event) {
    pending.push_back(event);
    REQUIRE(::write(pipe_[1], "x", 1) == 1);
  }

  std::vector<uint64_t> cgroups;
  std::vector<capture::CapturedService> services;
  std::vector<capture::StrictPort> strict_ports;
  std::vector<capture::ConnectionClosed> pending;
  int cgroup_updates = 0;
  int service_updates = 0;
  int strict_updates = 0;
  bool fail = false;
  bool strict_fail = false;
  std::vector<capture::Capture::Counter> kernel_counters;
  bool counters_fail = false;

 private:
  int pipe_[2];
};

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::filesystem::rename(path + ".tmp", path);
}

struct ControlUnderTest {
  explicit ControlUnderTest(ControlOptions options = {.tick = std::chrono::hours(1)})
      : reloader(dir.path() + "/node.json", "node1", store),
        control(io, &reloader, store, metrics, data_plane, resolver, options) {
    writeFile(path(), config::testing::kGoodConfigJson);
    REQUIRE(reloader.loadInitial().ok());
    resolver.ids["uid-client"] = 1001;  // the enrolled pod; uid-batch is not enrolled
    resolver.ids["uid-batch"] = 1002;
  }
  std::string path() const { return dir.path() + "/node.json"; }
  double bpfEvents(const std::string& reason) const {
    return test::counterValue(*metrics.registry(), "weft_bpf_events_total", {{"reason", reason}})
        .value_or(-1);
  }
  double reloads(const std::string& result) const {
    return test::counterValue(*metrics.registry(), "weft_config_updates_total",
                              {{"result", result}})
        .value_or(-1);
  }

  test::TempDir dir;
  config::ConfigStore store;
  config::ConfigReloader reloader;
  telemetry::Metrics metrics;
  FakeResolver resolver;
  FakeDataPlane data_plane;
  asio::io_context io;
  // Periodic work is driven by calling tick() directly (the tick period is an hour).
  ControlLoop control;
};

TEST_CASE("start pushes the enrolled pods' cgroups and the service VIPs") {
  ControlUnderTest t;
  t.control.start();
  CHECK(t.data_plane.cgroups == std::vector<uint64_t>{1001});
  CHECK(t.data_plane.services.size() == 5);
  CHECK(t.data_plane.services[0].vip == SocketAddress{*IpAddress::Parse("10.96.0.10"), 80});
  CHECK(t.control.ready());
}

TEST_CASE("with the fast path on, exactly the services with an endpoint on this node use it") {
  for (const bool fast_path : {false, true}) {
    ControlUnderTest t(
        ControlOptions{.tick = std::chrono::hours(1), .same_node_fast_path = fast_path});
    t.control.start();
    REQUIRE(t.data_plane.services.size() == 5);
    for (const capture::CapturedService& service : t.data_plane.services) {
      // web (VIPs 10.96.0.10 and fd00:96::10) has web-a on node1; api (10.96.0.11) has none.
      const bool web = service.vip.ip != *IpAddress::Parse("10.96.0.11");
      CHECK(service.fast_path == (fast_path && web));
    }
  }
}

TEST_CASE("a pod whose cgroup appears later is enrolled on a later tick") {
  ControlUnderTest t;
  t.resolver.ids.erase("uid-client");
  t.control.start();
  CHECK(t.data_plane.cgroups.empty());
  CHECK(t.control.podCgroups().unresolved() == 1);
  t.resolver.ids["uid-client"] = 2001;
  t.control.tick();
  CHECK(t.data_plane.cgroups == std::vector<uint64_t>{2001});
  CHECK(t.control.podCgroups().unresolved() == 0);
  // Once found it is not looked up again, and an unchanged set is not pushed again.
  const int lookups = t.resolver.lookups;
  const int updates = t.data_plane.cgroup_updates;
  t.control.tick();
  CHECK(t.resolver.lookups == lookups);
  CHECK(t.data_plane.cgroup_updates == updates);
}

TEST_CASE("a rejected reload is counted and changes nothing in the data plane") {
  ControlUnderTest t;
  t.control.start();
  const auto before = t.store.current();
  const int updates = t.data_plane.service_updates;
  writeFile(t.path(), "{\"node_name\": \"node1\", \"services\": [{\"vips\": [\"nope\"]}]}");
  t.control.tick();
  CHECK(t.reloads("rejected") == 1);
  CHECK(t.reloads("accepted") == 0);
  CHECK(t.store.current() == before);
  CHECK(t.data_plane.service_updates == updates);
  CHECK(t.control.ready());
}

TEST_CASE("an accepted reload re-syncs services and enrolment") {
  ControlUnderTest t;
  t.control.start();
  std::string next = absl::StrReplaceAll(
      config::testing::kGoodConfigJson,
      {{R"("vips": ["10.96.0.11"])", R"("vips": ["10.96.0.12"])"},
       {R"("ip": "10.244.1.11"})", R"("ip": "10.244.1.11", "mesh_enabled": true})"}});
  writeFile(t.path(), next);
  t.control.tick();
  CHECK(t.reloads("accepted") == 1);
  CHECK(t.data_plane.services.back().vip == SocketAddress{*IpAddress::Parse("10.96.0.12"), 443});
  CHECK(t.data_plane.cgroups == std::vector<uint64_t>{1001, 1002});
}

TEST_CASE("the enrolled STRICT pod's ports are pushed to the kernel, the other pod's are not") {
  ControlUnderTest t;
  t.control.start();
  // client (enrolled, 10.244.1.10) is STRICT but for 15021; batch is not in the mesh.
  const IpAddress client = *IpAddress::Parse("10.244.1.10");
  CHECK(t.data_plane.strict_ports ==
        std::vector<capture::StrictPort>{{client, 0, true}, {client, 15021, false}});
  const int updates = t.data_plane.strict_updates;
  t.control.tick();
  CHECK(t.data_plane.strict_updates == updates);  // unchanged: not pushed again

  writeFile(t.path(),
            absl::StrReplaceAll(config::testing::kGoodConfigJson,
                                {{R"("mtls_mode": "STRICT")", R"("mtls_mode": "PERMISSIVE")"}}));
  t.control.tick();
  CHECK(t.data_plane.strict_ports.empty());  // PERMISSIVE with a PERMISSIVE exception
}

TEST_CASE("a failed STRICT map update makes the agent unready until a retry succeeds") {
  ControlUnderTest t;
  t.data_plane.strict_fail = true;
  t.control.start();
  CHECK_FALSE(t.control.ready());
  t.data_plane.strict_fail = false;
  t.control.tick();
  CHECK(t.control.ready());
  CHECK(t.data_plane.strict_ports.size() == 2);
}

TEST_CASE("a failed data plane update makes the agent unready until a retry succeeds") {
  ControlUnderTest t;
  t.data_plane.fail = true;
  t.control.start();
  CHECK_FALSE(t.control.ready());
  t.data_plane.fail = false;
  t.control.tick();
  CHECK(t.control.ready());
  CHECK(t.data_plane.cgroups == std::vector<uint64_t>{1001});
}

TEST_CASE("kernel telemetry is drained into the RTT histogram by pod and service") {
  ControlUnderTest t;
  t.control.start();
  t.data_plane.emit(
      {.cgroup_id = 1001, .original_dst = {*IpAddress::Parse("10.96.0.10"), 80}, .srtt_us = 300});
  REQUIRE(t.io.run_one() == 1);  // the telemetry fd became readable
  bool found = false;
  for (const auto& family : t.metrics.registry()->Collect()) {
    for (const auto& m : family.metric) {
      if (family.name != "weft_tcp_rtt_seconds") {
        continue;
      }
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) {
        labels[l.name] = l.value;
      }
      if (labels["source_workload"] == "client" &&
          labels["destination_service"] == "web.default.svc.cluster.local") {
        found = true;
        CHECK(m.histogram.sample_count == 1);
      }
    }
  }
  CHECK(found);
}

TEST_CASE("the data plane's reason counters are exported as weft_bpf_events_total") {
  ControlUnderTest t;
  t.data_plane.kernel_counters = {{"captured_v4", 7}, {"splice_peer_gone", 0}};
  t.control.start();
  CHECK(t.bpfEvents("captured_v4") == 7);
  CHECK(t.bpfEvents("splice_peer_gone") == 0);

  // Each tick copies the kernel's running totals; a failed read keeps the last values.
  t.data_plane.kernel_counters = {{"captured_v4", 9}, {"splice_peer_gone", 2}};
  t.control.tick();
  CHECK(t.bpfEvents("captured_v4") == 9);
  CHECK(t.bpfEvents("splice_peer_gone") == 2);
  t.data_plane.counters_fail = true;
  t.control.tick();
  CHECK(t.bpfEvents("captured_v4") == 9);
  t.data_plane.counters_fail = false;
  t.data_plane.kernel_counters = {{"captured_v4", 12}, {"splice_peer_gone", 2}};
  t.control.tick();
  CHECK(t.bpfEvents("captured_v4") == 12);
}

}  // namespace
}  // namespace weft::agent::control
