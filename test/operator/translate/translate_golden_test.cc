// Golden tests for translation. Each directory test/operator/testdata/<case>/ holds
//   input/*.yaml          a source directory, loaded as weft-operator --source=directory does
//   expected/<node>.json  the file weft-operator writes for each node, exactly
//   expected/warnings.txt what translation left out and why (absent: nothing)
// After an intended change, regenerate the expected files and review the diff:
//   WEFT_UPDATE_GOLDEN=1 build/bin/operator_translate_test
//   git diff test/operator/testdata
// Every expected config must also pass the agent's own validation.

#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "agent/config/config_snapshot.h"
#include "common/config/config_resources.h"
#include "common/util/file.h"
#include "operator/output/node_config_files.h"
#include "operator/source/directory_snapshot.h"
#include "operator/source/directory_source.h"
#include "operator/translate/translate.h"

namespace weft::op {
namespace {

namespace fs = std::filesystem;

bool updating() {
  const char* update = std::getenv("WEFT_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

// An agent on the config stream assembles the config from its resources (workloads,
// services, authorization policies); it must get what an agent reading the file gets. The
// stream orders workloads by uid where the file orders them by pod, so each type compares as
// a set; authorization policies are in the same order in both.
bool sameOverTheStream(const api::v1alpha1::NodeConfig& config) {
  const api::v1alpha1::NodeConfig streamed = common::config::assemble(
      common::config::resourcesOf(config), config.node_name(), config.version());
  google::protobuf::util::MessageDifferencer differ;
  const auto* node_config = api::v1alpha1::NodeConfig::descriptor();
  differ.TreatAsSet(node_config->FindFieldByName("workloads"));
  differ.TreatAsSet(node_config->FindFieldByName("services"));
  std::string difference;
  differ.ReportDifferencesToString(&difference);
  const bool same = differ.Compare(streamed, config);
  INFO(config.node_name() << ": the streamed config differs: " << difference);
  return same;
}

// What the operator produces for a case: file name → content.
absl::btree_map<std::string, std::string> produce(const fs::path& input) {
  const absl::StatusOr<FileTexts> texts = readYamlFiles(input.string());
  REQUIRE(texts.ok());
  const DirectoryBuild build = buildDirectorySnapshot(*texts, {});
  INFO(build.status.message());
  REQUIRE(build.status.ok());
  const Translation translation = translate(*build.snapshot);
  absl::btree_map<std::string, std::string> files;
  for (const auto& [node, config] : translation.configs) {
    files[node + ".json"] = nodeConfigJson(config);
    // The agent on that node must accept it.
    const auto accepted = agent::config::buildSnapshot(config, node, absl::UnixEpoch());
    INFO(node << ": " << accepted.status().message());
    CHECK(accepted.ok());
    CHECK(sameOverTheStream(config));
  }
  if (!translation.warnings.empty()) {
    files["warnings.txt"] = absl::StrJoin(translation.warnings, "\n") + "\n";
  }
  return files;
}

absl::btree_map<std::string, std::string> readExpected(const fs::path& expected) {
  absl::btree_map<std::string, std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(expected, ec)) {
    files[entry.path().filename().string()] = *common::readFile(entry.path().string());
  }
  return files;
}

void writeExpected(const fs::path& expected,
                   const absl::btree_map<std::string, std::string>& files) {
  fs::remove_all(expected);
  fs::create_directories(expected);
  for (const auto& [name, content] : files) {
    std::ofstream(expected / name, std::ios::binary) << content;
  }
}

TEST_CASE("translation matches the golden files of every case") {
  size_t cases = 0;
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(WEFT_TESTDATA_DIR)) {
    dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    ++cases;
    DYNAMIC_SECTION(dir.filename().string()) {
      const auto produced = produce(dir / "input");
      if (updating()) {
        writeExpected(dir / "expected", produced);
      }
      const auto expected = readExpected(dir / "expected");
      for (const auto& [name, content] : expected) {
        INFO("case " << dir.filename().string() << ", expected/" << name);
        CHECK(produced.contains(name));
        if (produced.contains(name)) {
          CHECK(produced.at(name) == content);
        }
      }
      for (const auto& [name, content] : produced) {
        INFO("case " << dir.filename().string() << " produced " << name << " (not expected)");
        CHECK(expected.contains(name));
      }
    }
  }
  CHECK(cases >= 5);
}

}  // namespace
}  // namespace weft::op
