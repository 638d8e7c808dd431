#include "agent/config/config_loader.h"

#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace weft::agent::config {

using api::v1alpha1::NodeConfig;

namespace {

// Protobuf's JSON errors come as "(services[0].ports[0]) nmae: Cannot find field." or with a
// second line quoting the input; this makes them one line in the validator's
// "path: problem" form.
std::string tidyJsonError(absl::string_view message) {
  message = message.substr(0, message.find('\n'));
  std::string path;
  if (absl::ConsumePrefix(&message, "(")) {
    const size_t close = message.find(')');
    if (close != absl::string_view::npos) {
      path = std::string(message.substr(0, close));
      message.remove_prefix(close + 1);
    }
  }
  absl::ConsumePrefix(&message, " ");
  absl::ConsumePrefix(&message, ": ");
  if (absl::ConsumeSuffix(&message, ": Cannot find field.")) {
    return absl::StrCat(path, path.empty() ? "" : ".", message, ": unknown field");
  }
  return path.empty() ? std::string(message) : absl::StrCat(path, ": ", message);
}

}  // namespace

absl::StatusOr<NodeConfig> parseNodeConfigJson(absl::string_view json) {
  NodeConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &config, options);
  if (!status.ok()) {
    const auto message = status.message();
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid NodeConfig JSON: ",
                     tidyJsonError(absl::string_view(message.data(), message.size()))));
  }
  return config;
}

absl::StatusOr<NodeConfig> loadNodeConfigFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, common::readFile(path));
  auto config = parseNodeConfigJson(text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

std::string nodeConfigToJson(const NodeConfig& config) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Printing a message we own cannot fail short of memory exhaustion.
  (void)google::protobuf::util::MessageToJsonString(config, &out, options);
  return out;
}

}  // namespace weft::agent::config
