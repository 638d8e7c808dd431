// The directory watcher against a real temporary directory and real inotify (no root
// needed). Tests wait for the callback the change must cause, with a generous limit, and
// never assert on how long anything took.

#include "operator/source/directory_source.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/wait_for.h"
#include "test/operator/source/source_recorder.h"

namespace weft::op {
namespace {

namespace fs = std::filesystem;

std::string ns(const std::string& name) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + "}\n";
}

// Writes like an editor does: a temp file, then a rename over the target.
void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = (fs::path(path).parent_path() / ".tmp-write").string();
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

using Recorder = testing::SourceRecorder;

bool hasNamespace(const SourceSnapshot& s, const std::string& name) {
  return s.findNamespace(name) != nullptr;
}

TEST_CASE("start delivers the directory's snapshot before returning") {
  test::TempDir dir;
  writeFile(dir.path() + "/a.yaml", ns("one"));
  writeFile(dir.path() + "/sub/b.yml", ns("two"));
  writeFile(dir.path() + "/notes.txt", "not yaml");
  writeFile(dir.path() + "/.hidden.yaml", ns("hidden"));
  Recorder recorder;
  DirectorySource source({.dir = dir.path()}, recorder.snapshots(), recorder.statuses());
  REQUIRE(source.start().ok());
  REQUIRE(recorder.snapshotCount() == 1);
  CHECK(recorder.latest()->namespaces().size() == 2);
  CHECK(hasNamespace(*recorder.latest(), "one"));
  CHECK(hasNamespace(*recorder.latest(), "two"));
  CHECK(source.lastStatus().ok());
}

TEST_CASE("created, renamed-over, deleted files and new subdirectories are picked up") {
  test::TempDir dir;
  writeFile(dir.path() + "/a.yaml", ns("one"));
  Recorder recorder;
  DirectorySource source({.dir = dir.path()}, recorder.snapshots(), recorder.statuses());
  REQUIRE(source.start().ok());

  writeFile(dir.path() + "/b.yaml", ns("two"));
  CHECK(recorder.waitForSnapshot([](const auto& s) { return hasNamespace(s, "two"); }));

  writeFile(dir.path() + "/a.yaml", ns("uno"));  // an editor's save: temp file + rename
  CHECK(recorder.waitForSnapshot(
      [](const auto& s) { return hasNamespace(s, "uno") && !hasNamespace(s, "one"); }));

  fs::remove(dir.path() + "/b.yaml");
  CHECK(recorder.waitForSnapshot([](const auto& s) { return !hasNamespace(s, "two"); }));

  writeFile(dir.path() + "/new/deeper/c.yaml", ns("three"));
  CHECK(recorder.waitForSnapshot([](const auto& s) { return hasNamespace(s, "three"); }));

  {  // written in place, as `echo >> file` does
    std::ofstream(dir.path() + "/new/deeper/c.yaml", std::ios::app) << "---\n" << ns("four");
  }
  CHECK(recorder.waitForSnapshot([](const auto& s) { return hasNamespace(s, "four"); }));
}

TEST_CASE("a bad edit is reported and changes nothing; fixing it applies it") {
  test::TempDir dir;
  writeFile(dir.path() + "/a.yaml", ns("one"));
  Recorder recorder;
  DirectorySource source({.dir = dir.path()}, recorder.snapshots(), recorder.statuses());
  REQUIRE(source.start().ok());

  writeFile(dir.path() + "/a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad}\n");
  // Waits for the rebuild that saw the bad file (a burst split in two by a slow machine
  // may first rebuild with the old content, which reports OK).
  REQUIRE(test::waitFor([&] { return !recorder.latestStatus().ok(); }));
  CHECK_THAT(std::string(recorder.latestStatus().message()),
             Catch::StartsWith("a.yaml: document 1 (Namespace Bad): metadata.name:"));
  CHECK(source.lastStatus() == recorder.latestStatus());
  CHECK(recorder.snapshotCount() == 1);  // the status follows any snapshot of the same rebuild
  CHECK(hasNamespace(*recorder.latest(), "one"));

  writeFile(dir.path() + "/a.yaml", ns("fixed"));
  CHECK(recorder.waitForSnapshot([](const auto& s) { return hasNamespace(s, "fixed"); }));
  CHECK(test::waitFor([&] { return source.lastStatus().ok(); }));
}

TEST_CASE("start fails on a missing directory or an invalid file, with nothing running") {
  test::TempDir dir;
  Recorder recorder;
  DirectorySource missing({.dir = dir.path() + "/nope"}, recorder.snapshots(), recorder.statuses());
  const absl::Status status = missing.start();
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == dir.path() + "/nope: no such directory");

  writeFile(dir.path() + "/a.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
            "spec: {ports: [{port: 0}]}\n");
  DirectorySource invalid({.dir = dir.path()}, recorder.snapshots(), recorder.statuses());
  CHECK(std::string(invalid.start().message()) ==
        "a.yaml: document 1 (Service default/s): spec.ports[0].port: must be 1..65535, got 0 "
        "(the file is left out until it parses)");
  CHECK(recorder.snapshotCount() == 0);
}

}  // namespace
}  // namespace weft::op
