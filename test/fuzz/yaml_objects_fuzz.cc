// Fuzzes the YAML object parser, and the snapshot builder and translation behind it: any
// input must be rejected with a status naming the file, or give objects that build a
// snapshot, translate, and produce config files the agent reads back and accepts.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/config/config_loader.h"
#include "agent/config/config_snapshot.h"
#include "operator/model/source_snapshot.h"
#include "operator/output/node_config_files.h"
#include "operator/source/yaml_objects.h"
#include "operator/translate/translate.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::op;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto objects = parseYamlObjects(text, "fuzz.yaml");
  if (!objects.ok()) {
    fuzzRequire(absl::StartsWith(objects.status().message(), "fuzz.yaml: "));
    return 0;
  }
  SourceSnapshotBuilder builder;
  size_t added = 0;
  for (SourceObject& object : *objects) {
    const ObjectKey key = keyOf(object);
    fuzzRequire(!key.name.empty());
    added += builder.add(std::move(object), "fuzz.yaml").ok() ? 1 : 0;
  }
  const SourceSnapshotPtr snapshot = std::move(builder).build();
  fuzzRequire(snapshot->objectCount() == added);
  const Translation translation = translate(*snapshot);
  for (const auto& [node, config] : translation.configs) {
    fuzzRequire(weft::agent::config::buildSnapshot(config, node, absl::UnixEpoch()).ok());
    fuzzRequire(config.version() == configVersion(config));
    // The file the operator writes parses back, in the agent, to the same config.
    auto read_back = weft::agent::config::parseNodeConfigJson(nodeConfigJson(config));
    fuzzRequire(read_back.ok() && read_back->SerializeAsString() == config.SerializeAsString());
  }
  return 0;
}
