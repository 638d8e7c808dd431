#include "operator/output/node_config_files.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/util/file.h"
#include "operator/translate/translate.h"
#include "test/agent/testing/temp_dir.h"

namespace weft::op {
namespace {

api::v1alpha1::NodeConfig config(const std::string& node, const std::string& pod_ip) {
  api::v1alpha1::NodeConfig c;
  c.set_node_name(node);
  auto* w = c.add_workloads();
  w->set_name("client");
  w->set_namespace_("demo");
  w->set_uid("uid-client");
  w->set_ip(pod_ip);
  c.set_version(configVersion(c));
  return c;
}

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

TEST_CASE("each node's config is written to <dir>/<node>.json as JSON with proto names") {
  test::TempDir dir;
  NodeConfigWriter writer(dir.path());
  const auto written = writer.write({{"node1", config("node1", "10.244.1.10")}});
  REQUIRE(written.ok());
  CHECK(written->changed == absl::btree_set<std::string>{"node1"});
  const auto text = common::readFile(dir.path() + "/node1.json");
  REQUIRE(text.ok());
  CHECK_THAT(*text, Catch::Contains("\"node_name\": \"node1\""));
  CHECK_THAT(*text, Catch::Contains("\"ip\": \"10.244.1.10\""));
  CHECK_THAT(*text, !Catch::Contains("mesh_enabled"));  // false is the default: left out
  // No temp file is left behind.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("an unchanged config is not rewritten; a changed one replaces the file") {
  test::TempDir dir;
  NodeConfigWriter writer(dir.path());
  REQUIRE(writer.write({{"node1", config("node1", "10.244.1.10")}}).ok());
  const ino_t first = inodeOf(dir.path() + "/node1.json");

  const auto same = writer.write({{"node1", config("node1", "10.244.1.10")}});
  REQUIRE(same.ok());
  CHECK(same->changed.empty());
  CHECK(same->unchanged == 1);
  CHECK(inodeOf(dir.path() + "/node1.json") == first);

  const auto changed = writer.write({{"node1", config("node1", "10.244.1.11")}});
  REQUIRE(changed.ok());
  CHECK(changed->changed.size() == 1);
  // Renamed over, not written in place: an agent polling the file sees old or new, whole.
  CHECK(inodeOf(dir.path() + "/node1.json") != first);
  CHECK_THAT(*common::readFile(dir.path() + "/node1.json"), Catch::Contains("10.244.1.11"));
}

TEST_CASE("a node whose pods are all gone gets an empty config, not a stale one") {
  test::TempDir dir;
  NodeConfigWriter writer(dir.path());
  REQUIRE(writer
              .write({{"node1", config("node1", "10.244.1.10")},
                      {"node2", config("node2", "10.244.2.10")}})
              .ok());
  const auto written = writer.write({{"node1", config("node1", "10.244.1.10")}});
  REQUIRE(written.ok());
  CHECK(written->changed == absl::btree_set<std::string>{"node2"});
  const std::string text = *common::readFile(dir.path() + "/node2.json");
  CHECK_THAT(text, Catch::Contains("\"node_name\": \"node2\""));
  CHECK_THAT(text, !Catch::Contains("workloads"));
}

TEST_CASE("a directory that cannot be written to is an error naming the file") {
  NodeConfigWriter writer("/nonexistent-weft-dir");
  const auto written = writer.write({{"node1", config("node1", "10.244.1.10")}});
  REQUIRE_FALSE(written.ok());
  CHECK_THAT(std::string(written.status().message()),
             Catch::StartsWith("cannot create /nonexistent-weft-dir/.node1.json.tmp: "));
}

}  // namespace
}  // namespace weft::op
