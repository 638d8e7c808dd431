// Fuzzes what the Kubernetes source reads from the API server: a watch stream (split into
// lines wherever its pieces end), each line as a watch event, each event applied to the
// cache of its resource type, and the snapshot and node configs built from the result; the
// same bytes as a LIST answer too. Any input must give errors, never a crash; lines must not
// depend on where the stream was cut; the cache must build a snapshot that translates into
// configs the agent accepts.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/config/config_loader.h"
#include "agent/config/config_snapshot.h"
#include "operator/kube/api_messages.h"
#include "operator/kube/resource_type.h"
#include "operator/model/source_snapshot.h"
#include "operator/output/node_config_files.h"
#include "operator/source/resource_store.h"
#include "operator/translate/translate.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

namespace {

using namespace weft::op;

std::vector<std::string> linesOf(absl::string_view stream, size_t cut) {
  kube::LineSplitter splitter(64 * 1024);
  std::vector<std::string> lines;
  auto collect = [&](absl::string_view line) {
    lines.emplace_back(line);
    return absl::OkStatus();
  };
  cut = std::min(cut, stream.size());
  if (splitter.feed(stream.substr(0, cut), collect).ok()) {
    (void)splitter.feed(stream.substr(cut), collect);
  }
  return lines;
}

ResourceStore& storeFor(std::vector<ResourceStore>& stores, const nlohmann::json& object) {
  const auto kind = object.find("kind");
  for (ResourceStore& store : stores) {
    if (kind != object.end() && *kind == store.type().kind) {
      return store;
    }
  }
  return stores[1];  // pods
}

void checkSnapshot(const std::vector<ResourceStore>& stores) {
  SourceSnapshotBuilder builder;
  size_t objects = 0;
  for (const ResourceStore& store : stores) {
    fuzzRequire(store.addTo(builder).ok());  // one store a kind: no duplicates possible
    objects += store.size();
  }
  const SourceSnapshotPtr snapshot = std::move(builder).build();
  fuzzRequire(snapshot->objectCount() == objects);
  const Translation translation = translate(*snapshot);
  for (const auto& [node, config] : translation.configs) {
    fuzzRequire(weft::agent::config::buildSnapshot(config, node, absl::UnixEpoch()).ok());
    auto read_back = weft::agent::config::parseNodeConfigJson(nodeConfigJson(config));
    fuzzRequire(read_back.ok() && read_back->SerializeAsString() == config.SerializeAsString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view stream(reinterpret_cast<const char*>(data), size);
  // Where the stream is cut must not matter.
  const std::vector<std::string> lines = linesOf(stream, size == 0 ? 0 : data[0] % (size + 1));
  fuzzRequire(lines == linesOf(stream, size));

  std::vector<ResourceStore> stores;
  for (const kube::ResourceType* type : kube::watchedResources()) {
    stores.emplace_back(*type);
  }
  for (const std::string& line : lines) {
    auto event = kube::parseWatchEvent(line);
    if (!event.ok()) {
      fuzzRequire(absl::StartsWith(event.status().message(), "watch event"));
      continue;
    }
    ResourceStore& store = storeFor(stores, event->object);
    const std::string before = store.resourceVersion();
    const ResourceStore::Applied applied = store.apply(*event);
    fuzzRequire(applied.error.has_value() == (event->type == kube::EventType::kError));
    if (applied.error.has_value()) {
      fuzzRequire(store.resourceVersion() == before);
    }
  }
  checkSnapshot(stores);

  // The same bytes as a LIST answer.
  auto page = kube::parseListPage(stream);
  if (page.ok()) {
    fuzzRequire(!page->resource_version.empty());
    ResourceStore pods(kube::kPods);
    const ResourceStore::Replaced replaced = pods.replace(page->items, page->resource_version);
    // Each item is an object or a problem; items sharing a key count once.
    fuzzRequire(pods.size() + replaced.problems.size() <= page->items.size());
    fuzzRequire(pods.resourceVersion() == page->resource_version);
  }
  kube::ApiStatus status = kube::apiStatusFromBody(500, stream);
  fuzzRequire(status.code != 0);
  return 0;
}
