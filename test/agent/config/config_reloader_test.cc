#include "agent/config/config_reloader.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_replace.h"
#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/test_config.h"

namespace weft::agent::config {
namespace {

// Writes like an editor or a config sync does: to a temp file, then rename over the target,
// so a reader never sees half a file.
void writeFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, path);
}

std::string withVersion(const std::string& version) {
  return absl::StrReplaceAll(testing::kGoodConfigJson,
                             {{"\"version\": \"v1\"", "\"version\": \"" + version + "\""}});
}

TEST_CASE("the initial load publishes a snapshot of the file") {
  test::TempDir dir;
  const std::string path = dir.path() + "/node.json";
  writeFile(path, testing::kGoodConfigJson);
  ConfigStore store;
  ConfigReloader reloader(path, "node1", store);
  REQUIRE(reloader.loadInitial().ok());
  REQUIRE(store.current() != nullptr);
  CHECK(store.current()->version() == "v1");
  CHECK(reloader.reloadIfChanged() == ReloadResult::kUnchanged);
}

TEST_CASE("the initial load fails with the path and the reason") {
  test::TempDir dir;
  const std::string path = dir.path() + "/node.json";
  writeFile(path, R"({"node_name": "node1",
      "services": [{"name": "s", "namespace": "n", "ports": [{"port": 70000}]}]})");
  ConfigStore store;
  ConfigReloader reloader(path, "node1", store);
  const absl::Status status = reloader.loadInitial();
  REQUIRE_FALSE(status.ok());
  CHECK(std::string(status.message()) ==
        path + ": services[0].ports[0].port: 70000 is not a port (1-65535)");
  CHECK(store.current() == nullptr);
}

TEST_CASE("a bad reload keeps serving the last good snapshot, a good one replaces it") {
  test::TempDir dir;
  const std::string path = dir.path() + "/node.json";
  writeFile(path, testing::kGoodConfigJson);
  ConfigStore store;
  ConfigReloader reloader(path, "node1", store);
  REQUIRE(reloader.loadInitial().ok());
  const ConfigSnapshotPtr first = store.current();

  writeFile(path, "{\"node_name\": \"node1\", ");  // truncated JSON
  CHECK(reloader.reloadIfChanged() == ReloadResult::kRejected);
  CHECK(store.current() == first);
  CHECK_THAT(std::string(reloader.lastError().message()), Catch::Contains(path));

  writeFile(path,
            absl::StrReplaceAll(testing::kGoodConfigJson, {{"\"port\": 80,", "\"port\": 0,"}}));
  CHECK(reloader.reloadIfChanged() == ReloadResult::kRejected);
  CHECK_THAT(std::string(reloader.lastError().message()),
             Catch::Contains("services[0].ports[0].port: 0 is not a port"));
  CHECK(store.current() == first);

  std::filesystem::remove(path);
  CHECK(reloader.reloadIfChanged() == ReloadResult::kRejected);
  CHECK(store.current() == first);

  writeFile(path, withVersion("v2"));
  CHECK(reloader.reloadIfChanged() == ReloadResult::kAccepted);
  CHECK(store.current()->version() == "v2");
  CHECK(reloader.lastError().ok());
  // The first snapshot is still intact for whoever holds it.
  CHECK(first->version() == "v1");
}

}  // namespace
}  // namespace weft::agent::config
