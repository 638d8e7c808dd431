#include "operator/model/source_snapshot.h"

#include <catch2/catch.hpp>

namespace weft::op {
namespace {

Service service(const std::string& ns, const std::string& name) {
  Service s;
  s.namespace_name = ns;
  s.name = name;
  return s;
}

CustomResource resource(CustomResourceKind kind, const std::string& ns, const std::string& name) {
  CustomResource r;
  r.kind = kind;
  r.namespace_name = ns;
  r.name = name;
  return r;
}

Pod pod(const std::string& ns, const std::string& name) {
  Pod p;
  p.namespace_name = ns;
  p.name = name;
  p.uid = ns + "-" + name;
  return p;
}

TEST_CASE("a snapshot keeps objects sorted by namespace and name, whatever the add order") {
  SourceSnapshotBuilder builder;
  REQUIRE(builder.add(pod("demo", "b"), "a.yaml").ok());
  REQUIRE(builder.add(pod("apps", "z"), "a.yaml").ok());
  REQUIRE(builder.add(pod("demo", "a"), "b.yaml").ok());
  const SourceSnapshotPtr snapshot = std::move(builder).build();
  std::vector<std::string> order;
  for (const auto& [key, p] : snapshot->pods()) {
    order.push_back(key.toString());
  }
  CHECK(order == std::vector<std::string>{"apps/z", "demo/a", "demo/b"});
  CHECK(snapshot->findPod({"demo", "a"})->uid == "demo-a");
  CHECK(snapshot->findPod({"demo", "c"}) == nullptr);
  CHECK(snapshot->objectCount() == 3);
}

TEST_CASE("the same kind, namespace and name twice is an error naming both origins") {
  SourceSnapshotBuilder builder;
  REQUIRE(builder.add(service("demo", "backend"), "a.yaml").ok());
  const absl::Status status = builder.add(service("demo", "backend"), "sub/b.yaml");
  CHECK(status.code() == absl::StatusCode::kAlreadyExists);
  CHECK(status.message() == "Service demo/backend is defined in both a.yaml and sub/b.yaml");
}

TEST_CASE("objects of different kinds may share a name") {
  SourceSnapshotBuilder builder;
  CHECK(builder.add(service("demo", "backend"), "a.yaml").ok());
  CHECK(builder.add(pod("demo", "backend"), "a.yaml").ok());
  CHECK(
      builder.add(resource(CustomResourceKind::kTrafficPolicy, "demo", "backend"), "a.yaml").ok());
  CHECK(builder.add(resource(CustomResourceKind::kPeerAuthentication, "demo", "backend"), "a.yaml")
            .ok());
  const SourceSnapshotPtr snapshot = std::move(builder).build();
  CHECK(snapshot->customResources(CustomResourceKind::kTrafficPolicy).size() == 1);
  CHECK(snapshot->customResources(CustomResourceKind::kAuthorizationPolicy).empty());
  CHECK(snapshot->objectCount() == 4);
}

TEST_CASE("snapshots with the same objects compare equal") {
  auto build = [](const std::string& label) {
    SourceSnapshotBuilder builder;
    REQUIRE(builder.add(Namespace{"demo", {{"weft.io/mesh", label}}}, "x").ok());
    return std::move(builder).build();
  };
  CHECK(*build("enabled") == *build("enabled"));
  CHECK_FALSE(*build("enabled") == *build("disabled"));
}

}  // namespace
}  // namespace weft::op
