// The Kubernetes source against the fake API server over real TLS: the first LIST, watch
// events, bookmarks, 410 and relist, dropped connections, token rotation, an API that is
// down at start. Tests wait for what must happen (generous limits) and never assert on
// how long it took.

#include "operator/source/kubernetes_source.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "operator/kube/curl_api_client.h"
#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/wait_for.h"
#include "test/operator/fake_apiserver/fake_apiserver.h"
#include "test/operator/fake_apiserver/test_objects.h"
#include "test/operator/source/source_recorder.h"

namespace weft::op {
namespace {

using nlohmann::json;
using test::waitFor;
using test::kube::FakeApiServer;
using test::kube::podJson;

constexpr char kToken[] = "operator-token";

using Recorder = testing::SourceRecorder;

// A fake cluster with the demo namespace, two pods, a service and a traffic policy.
struct Cluster {
  Cluster() {
    REQUIRE(server.start().ok());
    server.addToken(kToken, {.name = "system:serviceaccount:weft:operator"});
    server.store().apply(test::kube::namespaceJson("demo", /*mesh=*/true));
    server.store().apply(podJson("a", "demo", "node1", "10.244.1.10"));
    server.store().apply(podJson("b", "demo", "node2", "10.244.2.10"));
    server.store().apply(test::kube::serviceJson("backend", "demo", "10.96.0.10"));
    server.store().apply(test::kube::trafficPolicyJson("retries", "demo"));
  }

  kube::ClusterConfig config() const {
    return {.server = server.url(), .ca_pem = server.caPem(), .token = kToken};
  }

  std::unique_ptr<KubernetesSource> source(Recorder& recorder, kube::ClusterConfig config,
                                           KubernetesSource::Options options = fastOptions()) {
    auto client = kube::CurlApiClient::create(std::move(config));
    REQUIRE(client.ok());
    auto source = std::make_unique<KubernetesSource>(*std::move(client), std::move(options),
                                                     recorder.snapshots(), recorder.statuses());
    REQUIRE(source->start().ok());
    return source;
  }
  std::unique_ptr<KubernetesSource> source(Recorder& recorder) {
    return source(recorder, config());
  }

  // Fast retries, so a test waits milliseconds for a backoff, not seconds.
  static KubernetesSource::Options fastOptions() {
    KubernetesSource::Options options;
    options.reflector.initial_backoff = std::chrono::milliseconds(10);
    options.reflector.max_backoff = std::chrono::milliseconds(200);
    options.debounce = absl::Milliseconds(20);
    return options;
  }

  // Whether the client watched `plural` from exactly `resource_version`.
  bool watchedFrom(const std::string& plural, const std::string& resource_version) const {
    for (const auto& request : server.requests()) {
      if (request.isWatch() && absl::EndsWith(request.path, "/" + plural) &&
          request.query.count("resourceVersion") > 0 &&
          request.query.at("resourceVersion") == resource_version) {
        return true;
      }
    }
    return false;
  }

  FakeApiServer server;
};

Reflector::Stats statsOf(const KubernetesSource& source, const std::string& resource) {
  for (const auto& [name, stats] : source.status().resources) {
    if (name == resource) {
      return stats;
    }
  }
  FAIL("no resource " << resource);
  return {};
}

bool allWatching(const Cluster& cluster) {
  return cluster.server.openWatches() == kube::watchedResources().size();
}

TEST_CASE("kubernetes source: the first LIST of every type is one snapshot") {
  Cluster cluster;
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot&) { return true; }));
  const SourceSnapshotPtr snapshot = recorder.latest();
  CHECK(snapshot->objectCount() == 5);
  CHECK(snapshot->findNamespace("demo")->labels.at("weft.io/mesh") == "enabled");
  CHECK(snapshot->findPod({"demo", "a"})->ips == std::vector<std::string>{"10.244.1.10"});
  CHECK(snapshot->services().size() == 1);
  CHECK(snapshot->customResources(CustomResourceKind::kTrafficPolicy).size() == 1);
  const KubernetesSource::Status status = source->status();
  CHECK(status.synced);
  CHECK(status.healthy);
  CHECK(status.relists == 0);
  for (const auto* type : kube::watchedResources()) {
    CHECK(cluster.server.countLists(type->plural) == 1);
  }
  REQUIRE(waitFor([&] { return allWatching(cluster); }));
  CHECK(recorder.snapshotCount() == 1);
  for (const auto& request : cluster.server.requests()) {
    INFO(request.path);
    CHECK(request.user == "system:serviceaccount:weft:operator");  // the bearer token's
  }
}

TEST_CASE("kubernetes source: added, modified and deleted objects reach the snapshot") {
  Cluster cluster;
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.pods().size() == 2; }));

  cluster.server.store().apply(podJson("c", "demo", "node1", "10.244.1.11"));
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) {
    return s.findPod({"demo", "c"}) != nullptr;
  }));

  cluster.server.store().apply(podJson("c", "demo", "node2", "10.244.1.11"));
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) {
    const Pod* c = s.findPod({"demo", "c"});
    return c != nullptr && c->node_name == "node2";
  }));

  REQUIRE(cluster.server.store().erase("v1", "Pod", "demo", "c"));
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) {
    return s.findPod({"demo", "c"}) == nullptr;
  }));
  CHECK(cluster.server.countLists("pods") == 1);  // all through the watch
}

TEST_CASE("kubernetes source: a BOOKMARK moves the resourceVersion a reconnect resumes from") {
  Cluster cluster;
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(waitFor([&] { return allWatching(cluster); }));
  // A write pods do not see moves the cluster's version past the pods watch's.
  cluster.server.store().apply(test::kube::namespaceJson("other"));
  const std::string version = std::to_string(cluster.server.store().resourceVersion());
  CHECK(statsOf(*source, "pods").resource_version != version);

  cluster.server.sendBookmarks();
  REQUIRE(waitFor([&] { return statsOf(*source, "pods").resource_version == version; }));
  cluster.server.dropWatches();
  REQUIRE(waitFor([&] { return cluster.watchedFrom("pods", version); }));
  CHECK(cluster.server.countLists("pods") == 1);  // resumed, not listed again
}

TEST_CASE("kubernetes source: after 410 it lists again, and what was deleted meanwhile goes") {
  Cluster cluster;
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.pods().size() == 2; }));
  REQUIRE(waitFor([&] { return allWatching(cluster); }));

  // The watch goes down; meanwhile pod a is deleted and the history compacted.
  cluster.server.setAvailable(false);
  cluster.server.dropWatches();
  REQUIRE(waitFor([&] { return recorder.sawStatus("503 Service Unavailable"); }));
  REQUIRE(cluster.server.store().erase("v1", "Pod", "demo", "a"));
  cluster.server.compact();
  cluster.server.setAvailable(true);

  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) {
    return s.findPod({"demo", "a"}) == nullptr;
  }));
  CHECK(recorder.latest()->findPod({"demo", "b"}) != nullptr);
  CHECK(statsOf(*source, "pods").relists == 1);
  CHECK(cluster.server.countLists("pods") == 2);
  REQUIRE(waitFor([&] { return recorder.sawStatus(""); }));  // healthy again
  CHECK(source->status().healthy);
  CHECK(source->status().watch_errors > 0);
}

TEST_CASE("kubernetes source: a dropped connection is watched again without a new LIST") {
  Cluster cluster;
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(waitFor([&] { return allWatching(cluster); }));
  const std::string version = statsOf(*source, "pods").resource_version;

  cluster.server.dropWatches();
  REQUIRE(waitFor([&] { return cluster.server.countWatches("pods") == 2; }));
  CHECK(cluster.watchedFrom("pods", version));
  cluster.server.store().apply(podJson("c", "demo", "node1", "10.244.1.11"));
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) {
    return s.findPod({"demo", "c"}) != nullptr;
  }));
  CHECK(cluster.server.countLists("pods") == 1);
  CHECK(statsOf(*source, "pods").watch_errors >= 1);
  CHECK(source->status().relists == 0);
}

TEST_CASE("kubernetes source: a refused token (401) works again once the file is rewritten") {
  Cluster cluster;
  test::TempDir dir;
  const std::string token_file = dir.path() + "/token";
  std::ofstream(token_file) << "revoked-token";
  kube::ClusterConfig config = cluster.config();
  config.token.clear();
  config.token_file = token_file;
  Recorder recorder;
  auto source = cluster.source(recorder, config);
  REQUIRE(waitFor([&] { return recorder.sawStatus("401 Unauthorized"); }));
  CHECK_FALSE(source->status().synced);
  CHECK(recorder.snapshotCount() == 0);

  std::ofstream(token_file) << kToken;  // the kubelet rotated the projected token
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.objectCount() == 5; }));
  REQUIRE(waitFor([&] { return recorder.sawStatus(""); }));
  CHECK(source->status().healthy);
}

TEST_CASE("kubernetes source: an API that is down at start is retried until it answers") {
  Cluster cluster;
  cluster.server.setAvailable(false);
  Recorder recorder;
  auto source = cluster.source(recorder);
  // Each type fails and is listed again. A list error is counted before it is reported, so
  // the report is waited for on its own.
  for (const auto* type : kube::watchedResources()) {
    REQUIRE(waitFor([&] { return statsOf(*source, type->qualifiedName()).list_errors >= 2; }));
  }
  REQUIRE(waitFor([&] {
    return recorder.sawStatus(
        "pods: list: GET /api/v1/pods?limit=500: 503 Service Unavailable: the fake API server is "
        "unavailable (retrying in ");
  }));
  CHECK(recorder.snapshotCount() == 0);

  cluster.server.setAvailable(true);
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.objectCount() == 5; }));
}

TEST_CASE("kubernetes source: an unreachable API is reported, and stop() still returns") {
  Recorder recorder;
  auto client = kube::CurlApiClient::create({.server = "https://127.0.0.1:1", .token = "t"});
  REQUIRE(client.ok());
  KubernetesSource source(*std::move(client), Cluster::fastOptions(), recorder.snapshots(),
                          recorder.statuses());
  REQUIRE(source.start().ok());
  REQUIRE(waitFor([&] { return recorder.sawStatus("Couldn't connect to server"); }));
  source.stop();
  CHECK_FALSE(source.status().synced);
}

TEST_CASE("kubernetes source: nothing is published while a weft CRD is not installed") {
  Cluster cluster;
  cluster.server.store().removeResource("weft.io", "peerauthentications");
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(waitFor([&] {
    return recorder.sawStatus(
        "peerauthentications.weft.io: list: GET "
        "/apis/weft.io/v1alpha1/peerauthentications?limit=500: 404 Not "
        "Found");
  }));
  REQUIRE(waitFor([&] { return statsOf(*source, "pods").synced; }));
  CHECK(recorder.snapshotCount() == 0);

  cluster.server.store().addResource(
      {"weft.io", "v1alpha1", "peerauthentications", "PeerAuthentication", true, true, false});
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.objectCount() == 5; }));
}

TEST_CASE("kubernetes source: a long list is read in pages; bad objects are left out") {
  Cluster cluster;
  for (int i = 0; i < 5; ++i) {
    cluster.server.store().apply(
        podJson("p" + std::to_string(i), "demo", "node1", "10.244.1." + std::to_string(20 + i)));
  }
  json no_uid = podJson("no-uid", "demo", "node1", "10.244.1.99");
  no_uid["metadata"]["uid"] = "";
  cluster.server.store().apply(no_uid);
  KubernetesSource::Options options = Cluster::fastOptions();
  options.reflector.page_size = 2;
  Recorder recorder;
  auto source = cluster.source(recorder, cluster.config(), options);
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.pods().size() == 7; }));
  CHECK(recorder.latest()->findPod({"demo", "no-uid"}) == nullptr);
  CHECK(cluster.server.countLists("pods") == 4);  // 8 pods, 2 a page
  CHECK(statsOf(*source, "pods").problems == 1);
}

TEST_CASE("kubernetes source: a bad object in a watch event is skipped, the rest applied") {
  Cluster cluster;
  Recorder recorder;
  auto source = cluster.source(recorder);
  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) { return s.pods().size() == 2; }));
  REQUIRE(waitFor([&] { return allWatching(cluster); }));

  // Pod a loses its uid (the API server takes it; weft cannot use it), a new bad pod comes,
  // then a good one.
  json a = podJson("a", "demo", "node3", "10.244.3.10");
  a["metadata"]["uid"] = "";
  cluster.server.store().apply(a);
  json bad = podJson("bad", "demo", "node1", "10.244.1.66");
  bad["spec"]["containers"] = "not a list";
  cluster.server.store().apply(bad);
  cluster.server.store().apply(podJson("c", "demo", "node1", "10.244.1.11"));

  REQUIRE(recorder.waitForSnapshot([](const SourceSnapshot& s) {
    return s.findPod({"demo", "c"}) != nullptr;
  }));
  const SourceSnapshotPtr snapshot = recorder.latest();
  CHECK(snapshot->findPod({"demo", "bad"}) == nullptr);
  REQUIRE(snapshot->findPod({"demo", "a"}) != nullptr);
  CHECK(snapshot->findPod({"demo", "a"})->node_name == "node1");  // its last good version
  CHECK(snapshot->findPod({"demo", "b"}) != nullptr);
  CHECK(statsOf(*source, "pods").problems == 2);
  CHECK(cluster.server.countLists("pods") == 1);  // nothing made it list again
  CHECK(source->status().healthy);
}

}  // namespace
}  // namespace weft::op
