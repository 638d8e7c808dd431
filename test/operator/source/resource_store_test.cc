#include "operator/source/resource_store.h"

#include <catch2/catch.hpp>
#include <string>

#include "test/operator/fake_apiserver/test_objects.h"

namespace weft::op {
namespace {

using nlohmann::json;
using test::kube::podJson;

json withVersion(json object, const std::string& resource_version) {
  object["metadata"]["resourceVersion"] = resource_version;
  return object;
}

kube::WatchEvent event(kube::EventType type, json object) {
  return {type, std::move(object)};
}

SourceSnapshotPtr snapshotOf(const ResourceStore& store) {
  SourceSnapshotBuilder builder;
  REQUIRE(store.addTo(builder).ok());
  return std::move(builder).build();
}

// A list item as the API server sends it: no kind, no apiVersion.
json listItem(json object) {
  object.erase("kind");
  object.erase("apiVersion");
  return object;
}

TEST_CASE("a LIST fills the store and sets where the watch continues from") {
  ResourceStore store(kube::kPods);
  CHECK(store.resourceVersion().empty());
  const auto replaced = store.replace({listItem(podJson("a", "demo", "n1", "10.0.0.1")),
                                       listItem(podJson("b", "demo", "n2", "10.0.0.2"))},
                                      "100");
  CHECK(replaced.changed);
  CHECK(replaced.problems.empty());
  CHECK(store.resourceVersion() == "100");
  CHECK(store.size() == 2);
  CHECK(snapshotOf(store)->findPod({"demo", "b"})->node_name == "n2");
}

TEST_CASE("a new LIST replaces the store: what it lacks was deleted meanwhile") {
  ResourceStore store(kube::kPods);
  store.replace({podJson("a", "demo", "n1", "10.0.0.1"), podJson("b", "demo", "n1", "10.0.0.2")},
                "100");
  auto replaced = store.replace({podJson("b", "demo", "n1", "10.0.0.2")}, "150");
  CHECK(replaced.changed);
  CHECK(store.size() == 1);
  CHECK(snapshotOf(store)->findPod({"demo", "a"}) == nullptr);
  CHECK(store.resourceVersion() == "150");
  // The same list again changes nothing but the version.
  replaced = store.replace({podJson("b", "demo", "n1", "10.0.0.2")}, "160");
  CHECK_FALSE(replaced.changed);
  CHECK(store.resourceVersion() == "160");
}

TEST_CASE("watch events add, modify and delete objects; each moves the resourceVersion") {
  ResourceStore store(kube::kPods);
  store.replace({}, "100");
  auto applied = store.apply(
      event(kube::EventType::kAdded, withVersion(podJson("a", "demo", "n1", "10.0.0.1"), "101")));
  CHECK(applied.changed);
  CHECK(store.resourceVersion() == "101");

  applied = store.apply(event(kube::EventType::kModified,
                              withVersion(podJson("a", "demo", "n2", "10.0.0.1"), "102")));
  CHECK(applied.changed);
  CHECK(snapshotOf(store)->findPod({"demo", "a"})->node_name == "n2");

  // A change to fields weft does not read changes nothing weft sees.
  json relabelled = withVersion(podJson("a", "demo", "n2", "10.0.0.1"), "103");
  relabelled["metadata"]["annotations"]["new"] = "x";
  applied = store.apply(event(kube::EventType::kModified, relabelled));
  CHECK_FALSE(applied.changed);
  CHECK(store.resourceVersion() == "103");

  applied = store.apply(
      event(kube::EventType::kDeleted, withVersion(podJson("a", "demo", "n2", "10.0.0.1"), "104")));
  CHECK(applied.changed);
  CHECK(store.size() == 0);
  CHECK(store.resourceVersion() == "104");

  // Deleting what is not there is no change, but the version still moves on.
  applied = store.apply(event(kube::EventType::kDeleted,
                              withVersion(podJson("zz", "demo", "n2", "10.0.0.9"), "105")));
  CHECK_FALSE(applied.changed);
  CHECK(store.resourceVersion() == "105");
}

TEST_CASE("a BOOKMARK only moves the resourceVersion; an ERROR changes nothing") {
  ResourceStore store(kube::kPods);
  store.replace({podJson("a", "demo", "n1", "10.0.0.1")}, "100");
  auto applied = store.apply(event(
      kube::EventType::kBookmark,
      json::parse(R"({"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"250"}})")));
  CHECK_FALSE(applied.changed);
  CHECK_FALSE(applied.error.has_value());
  CHECK(store.resourceVersion() == "250");
  CHECK(store.size() == 1);

  applied = store.apply(
      event(kube::EventType::kError, json::parse(R"j({"kind":"Status","code":410,"reason":"Expired",
                                              "message":"too old resource version: 250 (300)"})j")));
  REQUIRE(applied.error.has_value());
  CHECK(applied.error->code == 410);
  CHECK(store.resourceVersion() == "250");
  CHECK(store.size() == 1);

  applied = store.apply(event(kube::EventType::kError, json::parse(R"({"kind":"Pod"})")));
  REQUIRE(applied.error.has_value());
  CHECK(applied.error->code == 500);
}

TEST_CASE("an object that cannot be read keeps its last good version, or is left out") {
  ResourceStore store(kube::kPods);
  store.replace({podJson("a", "demo", "n1", "10.0.0.1")}, "100");
  json broken = withVersion(podJson("a", "demo", "n1", "10.0.0.1"), "101");
  broken["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080";
  auto applied = store.apply(event(kube::EventType::kModified, broken));
  CHECK_FALSE(applied.changed);
  CHECK(applied.problem ==
        "Pod demo/a: spec.containers[0].ports[0].containerPort: must be a number, got string "
        "\"8080\" (its last good version stays in use)");
  CHECK(store.size() == 1);
  CHECK(store.problems().size() == 1);
  CHECK(store.resourceVersion() == "101");

  json new_broken = withVersion(podJson("b", "demo", "n1", "10.0.0.2"), "102");
  new_broken["metadata"].erase("uid");
  applied = store.apply(event(kube::EventType::kAdded, new_broken));
  CHECK_FALSE(applied.changed);
  CHECK(applied.problem ==
        "Pod demo/b: metadata.uid: required (the agent finds a pod's cgroup by it) (left out)");
  CHECK(store.size() == 1);

  // Fixed: the problem goes, the new version is used.
  applied = store.apply(event(kube::EventType::kModified,
                              withVersion(podJson("a", "demo", "n3", "10.0.0.1"), "103")));
  CHECK(applied.changed);
  CHECK(store.problems().size() == 1);  // b's remains

  // A LIST keeps a's last good version too when a's listed version is bad.
  auto replaced = store.replace({broken}, "200");
  CHECK_FALSE(replaced.changed);
  REQUIRE(replaced.problems.size() == 1);
  CHECK(snapshotOf(store)->findPod({"demo", "a"})->node_name == "n3");

  applied = store.apply(event(kube::EventType::kAdded, json::parse(R"({"metadata":{}})")));
  CHECK(applied.problem == "Pod without a usable name: metadata.name: required (left out)");
}

TEST_CASE("cluster-scoped objects have no namespace; namespaced ones default to default") {
  ResourceStore namespaces(kube::kNamespaces);
  namespaces.replace({test::kube::namespaceJson("demo", true)}, "1");
  CHECK(snapshotOf(namespaces)->findNamespace("demo") != nullptr);

  ResourceStore pods(kube::kPods);
  json pod = podJson("a", "", "n1", "10.0.0.1");
  pod["metadata"].erase("namespace");
  pods.replace({pod}, "1");
  CHECK(snapshotOf(pods)->findPod({"default", "a"}) != nullptr);
  pods.apply(event(kube::EventType::kDeleted, withVersion(pod, "2")));
  CHECK(pods.size() == 0);
}

}  // namespace
}  // namespace weft::op
