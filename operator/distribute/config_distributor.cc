#include "operator/distribute/config_distributor.h"

#include <algorithm>

#include "operator/translate/translate.h"

namespace weft::op {

namespace {

NodeResourcesPtr resourcesOf(const api::v1alpha1::NodeConfig& config) {
  return std::make_shared<const NodeResources>(
      NodeResources{common::config::resourcesOf(config), config.version()});
}

// What the node config files give a node without pods, versioned as translation would.
NodeResourcesPtr emptyConfig(const std::string& node) {
  api::v1alpha1::NodeConfig empty;
  empty.set_node_name(node);
  empty.set_version(configVersion(empty));
  return resourcesOf(empty);
}

}  // namespace

void ConfigDistributor::publish(
    const absl::btree_map<std::string, api::v1alpha1::NodeConfig>& configs) {
  std::lock_guard lock(mu_);
  published_ = true;
  for (auto& [node, held] : nodes_) {
    if (configs.contains(node)) {
      continue;
    }
    if (NodeResourcesPtr empty = emptyConfig(node); held->version != empty->version) {
      held = std::move(empty);
      notify(node, held);
    }
  }
  for (const auto& [node, config] : configs) {
    NodeResourcesPtr& held = nodes_[node];
    // Translation versions a config by its content: the same version, nothing to tell.
    if (held != nullptr && held->version == config.version()) {
      continue;
    }
    held = resourcesOf(config);
    notify(node, held);
  }
}

void ConfigDistributor::notify(const std::string& node, const NodeResourcesPtr& config) {
  auto it = subscribers_.find(node);
  if (it == subscribers_.end()) {
    return;
  }
  for (ConfigSubscriber* subscriber : it->second) {
    subscriber->configChanged(config);
  }
}

NodeResourcesPtr ConfigDistributor::configOf(const std::string& node) const {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) {
    return it->second;
  }
  return published_ ? emptyConfig(node) : nullptr;
}

void ConfigDistributor::subscribe(const std::string& node, ConfigSubscriber* subscriber) {
  std::lock_guard lock(mu_);
  subscribers_[node].insert(subscriber);
  if (NodeResourcesPtr config = configOf(node)) {
    subscriber->configChanged(std::move(config));
  }
}

void ConfigDistributor::unsubscribe(const std::string& node, ConfigSubscriber* subscriber) {
  std::lock_guard lock(mu_);
  auto it = subscribers_.find(node);
  if (it != subscribers_.end()) {
    it->second.erase(subscriber);
    if (it->second.empty()) {
      subscribers_.erase(it);
    }
  }
}

bool ConfigDistributor::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

std::string ConfigDistributor::versionOf(const std::string& node) const {
  std::lock_guard lock(mu_);
  NodeResourcesPtr config = configOf(node);
  return config == nullptr ? "" : config->version;
}

std::vector<std::string> ConfigDistributor::nodes() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(nodes_.size());
  for (const auto& [node, config] : nodes_) {
    out.push_back(node);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace weft::op
