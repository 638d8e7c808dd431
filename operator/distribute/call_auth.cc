#include "operator/distribute/call_auth.h"

#include <optional>

namespace weft::op {

absl::StatusOr<std::string> authenticateNode(const grpc::CallbackServerContext& context,
                                             const NodeTokens& tokens) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "no node token: send \"authorization: Bearer <token>\" metadata");
  }
  std::optional<absl::string_view> token =
      bearerToken(absl::string_view(it->second.data(), it->second.size()));
  if (!token.has_value()) {
    return absl::UnauthenticatedError("the authorization metadata is not \"Bearer <token>\"");
  }
  std::optional<std::string> node = tokens.nodeOf(*token);
  if (!node.has_value()) {
    return absl::UnauthenticatedError("the node token is not known to this operator");
  }
  return *node;
}

grpc::Status toGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace weft::op
