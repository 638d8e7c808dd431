#include "operator/source/directory_snapshot.h"

#include <catch2/catch.hpp>
#include <string>

namespace weft::op {
namespace {

std::string ns(const std::string& name, const std::string& mesh = "enabled") {
  return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name +
         "\n  labels: {weft.io/mesh: " + mesh + "}\n";
}

std::string service(const std::string& name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: demo}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n";
}

std::string meshLabel(const SourceSnapshot& snapshot, const std::string& name) {
  const Namespace* n = snapshot.findNamespace(name);
  return n == nullptr ? "(none)" : n->labels.at("weft.io/mesh");
}

TEST_CASE("every file's objects go into one snapshot") {
  const DirectoryBuild build =
      buildDirectorySnapshot({{"a.yaml", ns("demo")}, {"sub/b.yaml", service("backend")}}, {});
  REQUIRE(build.status.ok());
  REQUIRE(build.snapshot != nullptr);
  CHECK(build.snapshot->namespaces().size() == 1);
  CHECK(build.snapshot->services().size() == 1);
  CHECK(build.files.size() == 2);
}

TEST_CASE("a file that fails to parse keeps its last good objects and says so") {
  const DirectoryBuild first = buildDirectorySnapshot({{"a.yaml", ns("demo")}}, {});
  REQUIRE(first.status.ok());

  const DirectoryBuild second =
      buildDirectorySnapshot({{"a.yaml", ns("demo", "disabled") + "  oops: [\n"}}, first.files);
  CHECK(second.status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(second.status.message()),
             Catch::StartsWith("a.yaml: line ") &&
                 Catch::EndsWith("(the file's last good objects stay in use)"));
  REQUIRE(second.snapshot != nullptr);
  CHECK(meshLabel(*second.snapshot, "demo") == "enabled");

  const DirectoryBuild fixed =
      buildDirectorySnapshot({{"a.yaml", ns("demo", "disabled")}}, second.files);
  CHECK(fixed.status.ok());
  CHECK(meshLabel(*fixed.snapshot, "demo") == "disabled");
}

TEST_CASE("a new file that fails to parse is left out, the rest is applied") {
  const DirectoryBuild build =
      buildDirectorySnapshot({{"a.yaml", ns("demo")}, {"b.yaml", "kind: [\n"}}, {});
  CHECK_THAT(
      std::string(build.status.message()),
      Catch::StartsWith("b.yaml: ") && Catch::EndsWith("(the file is left out until it parses)"));
  REQUIRE(build.snapshot != nullptr);
  CHECK(build.snapshot->objectCount() == 1);
  CHECK(build.files.count("b.yaml") == 0);
}

TEST_CASE("a file that cannot be read is treated like one that does not parse") {
  const DirectoryBuild first = buildDirectorySnapshot({{"a.yaml", ns("demo")}}, {});
  const DirectoryBuild second = buildDirectorySnapshot(
      {{"a.yaml", absl::PermissionDeniedError("/dir/a.yaml: Permission denied")}}, first.files);
  CHECK_THAT(std::string(second.status.message()),
             Catch::StartsWith("/dir/a.yaml: Permission denied"));
  CHECK(second.snapshot->objectCount() == 1);
}

TEST_CASE("a deleted file takes its objects with it") {
  const DirectoryBuild first =
      buildDirectorySnapshot({{"a.yaml", ns("demo")}, {"b.yaml", service("backend")}}, {});
  const DirectoryBuild second = buildDirectorySnapshot({{"a.yaml", ns("demo")}}, first.files);
  CHECK(second.status.ok());
  CHECK(second.snapshot->services().empty());
  CHECK(second.files.count("b.yaml") == 0);
}

TEST_CASE("an object defined in two files is an error naming both, and nothing is applied") {
  const DirectoryBuild build = buildDirectorySnapshot(
      {{"a.yaml", service("backend")}, {"team/b.yaml", service("backend")}}, {});
  CHECK(build.snapshot == nullptr);
  CHECK(std::string(build.status.message()) ==
        "Service demo/backend is defined in both a.yaml and team/b.yaml\n"
        "the directory was not applied: the last good snapshot stays in use");
  // Both files parsed, so the next build starts from them: removing one resolves the clash.
  const DirectoryBuild next =
      buildDirectorySnapshot({{"team/b.yaml", service("backend")}}, build.files);
  CHECK(next.status.ok());
  REQUIRE(next.snapshot != nullptr);
  CHECK(next.snapshot->services().size() == 1);
}

TEST_CASE("the same files give equal snapshots") {
  const FileTexts texts{{"a.yaml", ns("demo")}, {"b.yaml", service("backend")}};
  CHECK(*buildDirectorySnapshot(texts, {}).snapshot == *buildDirectorySnapshot(texts, {}).snapshot);
}

}  // namespace
}  // namespace weft::op
