#pragma once

// Per-node config files: the operator's standalone way of reaching agents, which reload
// their --config file when it changes (the gRPC stream on 15012 replaces this later).

#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::op {

// The JSON the operator writes for a node and the golden tests compare: proto field names
// (as the agent's /config_dump shows them), indented, fields at their default left out.
std::string nodeConfigJson(const api::v1alpha1::NodeConfig& config);

// Writes <dir>/<node>.json for each node, atomically (a temp file renamed over the
// target, so an agent never reads half a file) and only when the content changed (so an
// agent reloads only for a real change).
class NodeConfigWriter {
 public:
  struct Written {
    absl::btree_set<std::string> changed;  // nodes whose file was (re)written
    size_t unchanged = 0;
  };

  explicit NodeConfigWriter(std::string dir) : dir_(std::move(dir)) {}

  // A node this writer wrote before and that is missing from `configs` (its last pod went
  // away) gets an empty config, so its agent stops serving what it no longer has.
  absl::StatusOr<Written> write(
      const absl::btree_map<std::string, api::v1alpha1::NodeConfig>& configs);

  std::string pathOf(const std::string& node) const { return dir_ + "/" + node + ".json"; }

 private:
  absl::StatusOr<bool> writeIfChanged(const std::string& node, const std::string& content);

  std::string dir_;
  absl::btree_set<std::string> known_nodes_;
};

}  // namespace weft::op
