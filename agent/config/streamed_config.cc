#include "agent/config/streamed_config.h"

#include <utility>

#include "common/util/status_macros.h"

namespace weft::agent::config {

using api::v1alpha1::ConfigRequest;
using api::v1alpha1::ConfigResponse;

StreamedConfig::StreamedConfig(std::string node_name)
    : node_name_(std::move(node_name)), resources_(common::config::resourcesOf({})) {}

absl::StatusOr<ConfigSnapshotPtr> StreamedConfig::apply(const ConfigResponse& response,
                                                        absl::Time now) {
  common::config::ResourceSet next = resources_;
  RETURN_IF_ERROR(common::config::applyDeltas(response, next));
  ASSIGN_OR_RETURN(
      ConfigSnapshotPtr snapshot,
      buildSnapshot(common::config::assemble(next, node_name_, response.config_version()),
                    node_name_, now));
  resources_ = std::move(next);
  return snapshot;
}

ConfigRequest StreamedConfig::initialRequest() const {
  ConfigRequest request;
  request.set_node_name(node_name_);
  for (const auto& [type, versions] : common::config::versionsOf(resources_)) {
    auto& out = (*request.mutable_initial_versions())[type];
    out.mutable_versions()->insert(versions.begin(), versions.end());
  }
  return request;
}

ConfigRequest answer(const std::string& nonce, const absl::Status& applied) {
  ConfigRequest request;
  request.set_response_nonce(nonce);
  if (!applied.ok()) {
    // Never empty: an empty error_detail would read as an ACK.
    request.set_error_detail(applied.message().empty() ? applied.ToString()
                                                       : std::string(applied.message()));
  }
  return request;
}

}  // namespace weft::agent::config
