#include "operator/distribute/node_tokens.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/util/file.h"

namespace weft::op {

absl::StatusOr<NodeTokens> NodeTokens::parse(absl::string_view text) {
  NodeTokens tokens;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) {
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": expected \"<node> <token>\""));
    }
    if (fields[1].size() < kMinTokenLength) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": the token of node ",
                                                     fields[0], " is shorter than ",
                                                     kMinTokenLength, " characters"));
    }
    if (!tokens.node_by_token_.emplace(fields[1], fields[0]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": node ", fields[0], "'s token is used twice"));
    }
  }
  return tokens;
}

absl::StatusOr<NodeTokens> NodeTokens::fromFile(const std::string& path) {
  absl::StatusOr<std::string> text = common::readFile(path);
  if (!text.ok()) {
    return text.status();
  }
  absl::StatusOr<NodeTokens> tokens = parse(*text);
  if (!tokens.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", tokens.status().message()));
  }
  return tokens;
}

std::optional<std::string> NodeTokens::nodeOf(absl::string_view token) const {
  auto it = node_by_token_.find(token);
  if (it == node_by_token_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<absl::string_view> bearerToken(absl::string_view authorization) {
  if (!absl::ConsumePrefix(&authorization, "Bearer ")) {
    return std::nullopt;
  }
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.empty()) {
    return std::nullopt;
  }
  return authorization;
}

}  // namespace weft::op
