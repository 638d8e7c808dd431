#include "common/config/config_resources.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/util/fnv1a.h"
#include "common/util/status_macros.h"

namespace weft::common::config {

using api::v1alpha1::ConfigResponse;
using api::v1alpha1::NodeConfig;
using api::v1alpha1::Resource;
using api::v1alpha1::TypeDelta;

namespace {

std::string workloadKey(const api::v1alpha1::Workload& w) {
  return w.uid();
}
std::string serviceKey(const api::v1alpha1::Service& s) {
  return absl::StrCat(s.namespace_(), "/", s.name());
}

template <typename Message, typename SetBody>
void addResource(TypeResources& out, std::string name, const Message& body, SetBody set_body) {
  auto resource = std::make_shared<Resource>();
  resource->set_name(name);
  resource->set_version(contentVersion(body));
  set_body(*resource) = body;
  out[std::move(name)] = std::move(resource);
}

// The key the resource's content gives it, or an error when the body is not of `type`.
absl::StatusOr<std::string> keyOf(absl::string_view type, const Resource& resource) {
  if (type == kWorkloadsType && resource.has_workload()) {
    return workloadKey(resource.workload());
  }
  if (type == kServicesType && resource.has_service()) {
    return serviceKey(resource.service());
  }
  return absl::InvalidArgumentError(absl::StrCat(type, " resource \"", resource.name(),
                                                 "\": its body is not a ", type, " resource"));
}

absl::Status applyDelta(const TypeDelta& delta, TypeResources& resources) {
  for (const std::string& name : delta.removed()) {
    resources.erase(name);
  }
  for (const Resource& resource : delta.resources()) {
    ASSIGN_OR_RETURN(const std::string key, keyOf(delta.type(), resource));
    if (key != resource.name()) {
      return absl::InvalidArgumentError(absl::StrCat(delta.type(), " resource \"", resource.name(),
                                                     "\": its content is keyed \"", key, "\""));
    }
    resources[resource.name()] = std::make_shared<Resource>(resource);
  }
  return absl::OkStatus();
}

}  // namespace

std::string contentVersion(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return absl::StrFormat("%016x", fnv1a(bytes.data(), bytes.size()));
}

ResourceSet resourcesOf(const NodeConfig& config) {
  ResourceSet set{{kWorkloadsType, {}}, {kServicesType, {}}};
  for (const auto& workload : config.workloads()) {
    addResource(
        set[kWorkloadsType], workloadKey(workload), workload,
        [](Resource & r) -> auto& { return *r.mutable_workload(); });
  }
  for (const auto& service : config.services()) {
    addResource(
        set[kServicesType], serviceKey(service), service,
        [](Resource & r) -> auto& { return *r.mutable_service(); });
  }
  return set;
}

VersionMap versionsOf(const ResourceSet& set) {
  VersionMap versions;
  for (const auto& [type, resources] : set) {
    auto& of_type = versions[type];
    for (const auto& [name, resource] : resources) {
      of_type[name] = resource->version();
    }
  }
  return versions;
}

VersionMap versionsOf(
    const google::protobuf::Map<std::string, api::v1alpha1::ResourceVersions>& versions) {
  VersionMap out;
  for (const auto& [type, of_type] : versions) {
    out[type].insert(of_type.versions().begin(), of_type.versions().end());
  }
  return out;
}

absl::Status applyDeltas(const ConfigResponse& response, ResourceSet& set) {
  // Applied to a copy of the touched types, so a bad delta leaves `set` as it was.
  ResourceSet changed;
  for (const TypeDelta& delta : response.deltas()) {
    auto known = set.find(delta.type());
    if (known == set.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown resource type \"", delta.type(), "\""));
    }
    if (!changed.emplace(delta.type(), known->second).second) {
      return absl::InvalidArgumentError(absl::StrCat("type \"", delta.type(), "\" sent twice"));
    }
    RETURN_IF_ERROR(applyDelta(delta, changed[delta.type()]));
  }
  for (auto& [type, resources] : changed) {
    set[type] = std::move(resources);
  }
  return absl::OkStatus();
}

NodeConfig assemble(const ResourceSet& set, absl::string_view node_name,
                    absl::string_view config_version) {
  NodeConfig config;
  config.set_node_name(std::string(node_name));
  config.set_version(std::string(config_version));
  if (auto it = set.find(kWorkloadsType); it != set.end()) {
    for (const auto& [name, resource] : it->second) {
      *config.add_workloads() = resource->workload();
    }
  }
  if (auto it = set.find(kServicesType); it != set.end()) {
    for (const auto& [name, resource] : it->second) {
      *config.add_services() = resource->service();
    }
  }
  return config;
}

}  // namespace weft::common::config
