#pragma once

// The latest config of every node, as resources, and the streams that follow them. The
// publisher (translation, on the main thread) replaces the configs; each stream (a gRPC
// thread) subscribes to its node and is told when that node's config changes.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/config/config_resources.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::op {

// One node's config, immutable once published.
struct NodeResources {
  common::config::ResourceSet resources;
  std::string version;  // NodeConfig.version
};
using NodeResourcesPtr = std::shared_ptr<const NodeResources>;

class ConfigSubscriber {
 public:
  virtual ~ConfigSubscriber() = default;
  // The node's config is now `config`. Called with the distributor's lock held: must not
  // call back into the distributor, and must not block.
  virtual void configChanged(NodeResourcesPtr config) = 0;
};

class ConfigDistributor {
 public:
  // Replaces every node's config. A node that had one and is missing from `configs` gets an
  // empty config (its agent stops serving what it no longer has). Subscribers are told only
  // when their node's version changed.
  void publish(const absl::btree_map<std::string, api::v1alpha1::NodeConfig>& configs);

  // Tells `subscriber` the node's current config at once when there is one (a node nothing
  // is scheduled on gets an empty config), then every change until unsubscribe().
  void subscribe(const std::string& node, ConfigSubscriber* subscriber);
  void unsubscribe(const std::string& node, ConfigSubscriber* subscriber);

  // A snapshot was published: agents get a real config, not a guess.
  bool published() const;
  // The version of the node's current config ("" before the first snapshot).
  std::string versionOf(const std::string& node) const;
  // The nodes that have (or had) a config, by name.
  std::vector<std::string> nodes() const;

 private:
  NodeResourcesPtr configOf(const std::string& node) const;
  void notify(const std::string& node, const NodeResourcesPtr& config);

  mutable std::mutex mu_;
  bool published_ = false;
  absl::flat_hash_map<std::string, NodeResourcesPtr> nodes_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<ConfigSubscriber*>> subscribers_;
};

}  // namespace weft::op
