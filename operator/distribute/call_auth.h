#pragma once

// The node a gRPC call comes from, proven by its "authorization: Bearer <token>" metadata:
// shared by the config stream and certificate signing on the operator's 15012 server.

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "operator/distribute/node_tokens.h"

namespace weft::op {

// The node, or UNAUTHENTICATED with what was wrong (no metadata, not "Bearer", unknown token).
absl::StatusOr<std::string> authenticateNode(const grpc::CallbackServerContext& context,
                                             const NodeTokens& tokens);

// `status` as a gRPC status (same code and message).
grpc::Status toGrpcStatus(const absl::Status& status);

}  // namespace weft::op
