#pragma once

// How the agent reaches the operator's gRPC server (15012): the channel settings and the node
// token, the same for every service on it (the config stream, certificate signing), so both
// dial, verify the server and authenticate one way.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace weft::agent::config {

struct OperatorEndpoint {
  std::string target;  // the operator, "host:port"
  std::string token;   // the node's bootstrap token
  // TLS (trust bundle, server name checked) or, for tests only, insecure.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string server_name = "weft-operator";  // the name the operator's certificate carries
};

// TLS credentials that trust exactly the roots in `bundle_pem` (--operator-ca).
std::shared_ptr<grpc::ChannelCredentials> operatorTlsCredentials(const std::string& bundle_pem);

// A new channel to the operator. Callers dial once per attempt, so their own backoff decides
// when to dial: a long-lived channel would keep failing new calls with its cached error while
// its own reconnection idles (seconds after the operator is back, gRPC 1.51's pick_first),
// and its subchannel is not shared with an earlier attempt's (local pool).
std::shared_ptr<grpc::Channel> dialOperator(const OperatorEndpoint& endpoint);

// Proves the node on `context`'s call: "authorization: Bearer <token>".
void addNodeToken(grpc::ClientContext& context, const OperatorEndpoint& endpoint);

}  // namespace weft::agent::config
