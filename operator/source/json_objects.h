#pragma once

// Objects from the Kubernetes API (JSON) → the model, through the reader the directory
// source uses (yaml_objects.h), so both sources accept and refuse exactly the same objects
// with the same messages. The JSON is turned into the node YAML would have given: strings
// become quoted scalars (so "80" stays a string), numbers, booleans and null plain ones.

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "operator/model/objects.h"

namespace weft::op {

// Deeper JSON is refused: no Kubernetes object weft reads comes close.
inline constexpr int kMaxJsonObjectDepth = 64;

// `object` as a YAML node. metadata.managedFields and metadata.annotations are left out:
// weft reads neither, and they are the bulk of a typical object.
absl::StatusOr<YAML::Node> yamlNodeFromJson(const nlohmann::json& object);

// The model object for `object`. `api_version` and `kind` fill in what the items of a LIST
// leave out (the API server drops them from built-in types' items); an object that states
// other ones is refused.
absl::StatusOr<SourceObject> objectFromJson(const nlohmann::json& object,
                                            absl::string_view api_version, absl::string_view kind);

}  // namespace weft::op
