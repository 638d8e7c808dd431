#pragma once

// Reads the JSON form of weft.api.v1alpha1.NodeConfig (the file the agent takes with --config
// until the operator streams the same message).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::agent::config {

// Parses `json` strictly: unknown fields and wrong types are errors, so a typo in a config
// file is reported instead of silently ignored.
absl::StatusOr<api::v1alpha1::NodeConfig> parseNodeConfigJson(absl::string_view json);

// Reads and parses `path`; errors start with the path.
absl::StatusOr<api::v1alpha1::NodeConfig> loadNodeConfigFile(const std::string& path);

// The config as JSON (proto field names as written in the file), for /config_dump.
std::string nodeConfigToJson(const api::v1alpha1::NodeConfig& config);

}  // namespace weft::agent::config
