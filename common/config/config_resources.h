#pragma once

// The config stream's resource model, shared by the operator (which diffs) and the agent
// (which assembles): a NodeConfig seen as named, versioned resources per type. A resource's
// version is a hash of its content, so the operator and the agent agree on "unchanged"
// without remembering anything about each other, also across restarts of either.

#include <memory>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "weft/v1alpha1/config_service.pb.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::common::config {

inline constexpr char kWorkloadsType[] = "workloads";  // keyed by pod uid
inline constexpr char kServicesType[] = "services";    // keyed by "<namespace>/<name>"

using ResourcePtr = std::shared_ptr<const api::v1alpha1::Resource>;
// Name → resource of one type; ordered, so assembly and diffs are deterministic.
using TypeResources = absl::btree_map<std::string, ResourcePtr>;
// Type → its resources. Every known type has an entry (maybe empty).
using ResourceSet = absl::btree_map<std::string, TypeResources>;
// Type → name → version: what an agent holds, as it reports it.
using VersionMap = absl::btree_map<std::string, absl::btree_map<std::string, std::string>>;

// Hex of a 64-bit FNV-1a hash of the message's deterministic serialization.
std::string contentVersion(const google::protobuf::Message& message);

// The resources of `config` (its version and node name are not resources).
ResourceSet resourcesOf(const api::v1alpha1::NodeConfig& config);
// The versions of every resource in `set`.
VersionMap versionsOf(const ResourceSet& set);
// The map of an initial request (ConfigRequest.initial_versions) as a VersionMap.
VersionMap versionsOf(
    const google::protobuf::Map<std::string, api::v1alpha1::ResourceVersions>& versions);

// Applies a response's deltas to `set`. Errors (nothing applied): an unknown type, a type
// twice, a resource whose body does not match its type or whose name is not its key.
absl::Status applyDeltas(const api::v1alpha1::ConfigResponse& response, ResourceSet& set);

// The NodeConfig `set` describes, resources in name order.
api::v1alpha1::NodeConfig assemble(const ResourceSet& set, absl::string_view node_name,
                                   absl::string_view config_version);

}  // namespace weft::common::config
