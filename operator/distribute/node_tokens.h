#pragma once

// Node authentication for the config stream: a bearer token → the node it proves. The lab
// gives each node a bootstrap token this way; in Kubernetes a projected ServiceAccount token
// checked by TokenReview takes its place (not implemented yet).
//
// File format (--node-tokens=FILE), one node per line:
//   <node> <token>
// Blank lines and lines starting with '#' are skipped. Tokens must be unique and at least
// 16 characters; a node may have several (rotation).

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft::op {

inline constexpr size_t kMinTokenLength = 16;

class NodeTokens {
 public:
  static absl::StatusOr<NodeTokens> parse(absl::string_view text);
  // Errors name the file and the line.
  static absl::StatusOr<NodeTokens> fromFile(const std::string& path);

  // The node `token` belongs to, or nullopt.
  std::optional<std::string> nodeOf(absl::string_view token) const;
  size_t size() const { return node_by_token_.size(); }

 private:
  absl::flat_hash_map<std::string, std::string> node_by_token_;
};

// The token of an `authorization` metadata value "Bearer <token>", or nullopt.
std::optional<absl::string_view> bearerToken(absl::string_view authorization);

}  // namespace weft::op
