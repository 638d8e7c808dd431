#include "operator/source/json_objects.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"
#include "operator/source/yaml_objects.h"

namespace weft::op {

using nlohmann::json;

namespace {

bool isSkippedMetadataField(const std::string& key) {
  return key == "managedFields" || key == "annotations";
}

// A plain scalar: YAML resolves it by its text, as it would have resolved the same token.
YAML::Node plain(const std::string& text) {
  return YAML::Node(text);
}

absl::StatusOr<YAML::Node> convert(const json& value, int depth, bool is_metadata) {
  if (depth > kMaxJsonObjectDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("nested more than ", kMaxJsonObjectDepth, " levels deep"));
  }
  switch (value.type()) {
    case json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, item] : value.items()) {
        if (is_metadata && isSkippedMetadataField(key)) {
          continue;
        }
        ASSIGN_OR_RETURN(YAML::Node child,
                         convert(item, depth + 1, depth == 0 && key == "metadata"));
        map.force_insert(key, child);
      }
      return map;
    }
    case json::value_t::array: {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const json& item : value) {
        ASSIGN_OR_RETURN(YAML::Node child, convert(item, depth + 1, false));
        list.push_back(child);
      }
      return list;
    }
    case json::value_t::string: {
      YAML::Node scalar(value.get<std::string>());
      scalar.SetTag("!");  // what a quoted YAML scalar carries: always a string
      return scalar;
    }
    case json::value_t::boolean:
      return plain(value.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return plain(value.dump());
    case json::value_t::null:
    case json::value_t::discarded:
    case json::value_t::binary:
      break;
  }
  return YAML::Node(YAML::NodeType::Null);
}

// Adds `key: expected` to `node` when `object` has no `key`; refuses another value.
absl::Status defaultField(const json& object, YAML::Node& node, const char* key,
                          absl::string_view expected) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    YAML::Node value{std::string(expected)};
    value.SetTag("!");
    node[key] = value;
    return absl::OkStatus();
  }
  if (!it->is_string() || it->get<std::string>() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": must be \"", expected, "\", got ", it->dump().substr(0, 64)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<YAML::Node> yamlNodeFromJson(const json& object) {
  try {
    return convert(object, 0, false);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

absl::StatusOr<SourceObject> objectFromJson(const json& object, absl::string_view api_version,
                                            absl::string_view kind) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", kind, " must be a JSON object, got ", object.type_name()));
  }
  ASSIGN_OR_RETURN(YAML::Node node, yamlNodeFromJson(object));
  RETURN_IF_ERROR(defaultField(object, node, "apiVersion", api_version));
  RETURN_IF_ERROR(defaultField(object, node, "kind", kind));
  return readObjectNode(node);
}

}  // namespace weft::op
