#include "operator/distribute/config_delta.h"

namespace weft::op {

using api::v1alpha1::ConfigResponse;
using api::v1alpha1::TypeDelta;
using common::config::ResourceSet;
using common::config::TypeResources;
using common::config::VersionMap;

namespace {

using Versions = absl::btree_map<std::string, std::string>;

TypeDelta typeDelta(const std::string& type, const TypeResources& desired, const Versions& has) {
  TypeDelta delta;
  delta.set_type(type);
  for (const auto& [name, resource] : desired) {
    auto held = has.find(name);
    if (held == has.end() || held->second != resource->version()) {
      *delta.add_resources() = *resource;
    }
  }
  for (const auto& [name, version] : has) {
    if (!desired.contains(name)) {
      delta.add_removed(name);
    }
  }
  return delta;
}

}  // namespace

ConfigResponse computeDelta(const ResourceSet& desired, const VersionMap& has) {
  static const Versions kNone;
  ConfigResponse response;
  for (const auto& [type, resources] : desired) {
    auto held = has.find(type);
    TypeDelta delta = typeDelta(type, resources, held == has.end() ? kNone : held->second);
    if (delta.resources_size() > 0 || delta.removed_size() > 0) {
      *response.add_deltas() = std::move(delta);
    }
  }
  return response;
}

void applyToVersions(const ConfigResponse& response, VersionMap& has) {
  for (const TypeDelta& delta : response.deltas()) {
    auto& versions = has[delta.type()];
    for (const std::string& name : delta.removed()) {
      versions.erase(name);
    }
    for (const auto& resource : delta.resources()) {
      versions[resource.name()] = resource.version();
    }
  }
}

}  // namespace weft::op
