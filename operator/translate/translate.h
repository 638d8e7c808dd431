#pragma once

// Translation: a source snapshot → one NodeConfig per node. Pure and deterministic: the same
// snapshot gives byte-identical configs (objects are walked in sorted order, and each
// config's version is a hash of its content), so an unchanged cluster never makes agents
// reload. Unit-tested without I/O (golden files in test/operator/testdata/).
//
// Per node: the pods scheduled on it (enrolled or not, so the agent knows what it must
// leave alone) and, when at least one of them is enrolled, every service with a VIP (no
// policy scopes reachability yet), with its endpoints on every node.

#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "operator/model/source_snapshot.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::op {

struct Translation {
  // By node name; every node that a pod is scheduled on has one.
  absl::btree_map<std::string, api::v1alpha1::NodeConfig> configs;
  // What was left out and why (the config is still valid without it), in a stable order.
  std::vector<std::string> warnings;
};

struct TranslationOptions {
  // The SPIFFE trust domain of workload identities (the operator's --trust-domain).
  std::string trust_domain = "cluster.local";
};

Translation translate(const SourceSnapshot& snapshot, const TranslationOptions& options = {});

// Hex of a 64-bit FNV-1a hash of the config's deterministic serialization, version unset.
std::string configVersion(const api::v1alpha1::NodeConfig& config);

}  // namespace weft::op
