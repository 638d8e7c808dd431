#include "operator/output/node_config_files.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "operator/translate/translate.h"

namespace weft::op {

using api::v1alpha1::NodeConfig;

std::string nodeConfigJson(const NodeConfig& config) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = false;
  std::string out;
  // Printing a message we own cannot fail short of memory exhaustion.
  (void)google::protobuf::util::MessageToJsonString(config, &out, options);
  if (out.empty() || out.back() != '\n') {
    out += '\n';
  }
  return out;
}

absl::StatusOr<bool> NodeConfigWriter::writeIfChanged(const std::string& node,
                                                      const std::string& content) {
  const std::string path = pathOf(node);
  if (absl::StatusOr<std::string> current = common::readFile(path);
      current.ok() && *current == content) {
    return false;
  }
  RETURN_IF_ERROR(common::writeFileAtomically(path, content));
  return true;
}

absl::StatusOr<NodeConfigWriter::Written> NodeConfigWriter::write(
    const absl::btree_map<std::string, NodeConfig>& configs) {
  absl::btree_map<std::string, NodeConfig> all = configs;
  for (const std::string& node : known_nodes_) {
    if (!all.contains(node)) {
      NodeConfig& empty = all[node];
      empty.set_node_name(node);
      empty.set_version(configVersion(empty));
    }
  }
  Written written;
  for (const auto& [node, config] : all) {
    ASSIGN_OR_RETURN(const bool changed, writeIfChanged(node, nodeConfigJson(config)));
    if (changed) {
      written.changed.insert(node);
    } else {
      ++written.unchanged;
    }
    known_nodes_.insert(node);
  }
  return written;
}

}  // namespace weft::op
