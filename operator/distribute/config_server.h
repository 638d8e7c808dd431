#pragma once

// The config stream's gRPC server (ConfigService, api/weft/v1alpha1/config_service.proto),
// on gRPC's callback API: one reactor per agent stream, no thread of our own. Each stream
// authenticates its node by bearer token, subscribes to that node's config in the
// ConfigDistributor and sends deltas against what the agent holds, one unanswered response
// at a time.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "operator/admin/operator_metrics.h"
#include "operator/distribute/agent_status.h"
#include "operator/distribute/config_distributor.h"
#include "operator/distribute/node_tokens.h"
#include "weft/v1alpha1/config_service.grpc.pb.h"

namespace weft::op {

class ConfigService final : public api::v1alpha1::ConfigService::CallbackService {
 public:
  ConfigService(ConfigDistributor& distributor, const NodeTokens& tokens, OperatorMetrics& metrics,
                AgentStatusBoard& agents)
      : distributor_(distributor), tokens_(tokens), metrics_(metrics), agents_(agents) {}

  grpc::ServerBidiReactor<api::v1alpha1::ConfigRequest, api::v1alpha1::ConfigResponse>*
  StreamConfig(grpc::CallbackServerContext* context) override;

 private:
  ConfigDistributor& distributor_;
  const NodeTokens& tokens_;
  OperatorMetrics& metrics_;
  AgentStatusBoard& agents_;
};

class ConfigServer {
 public:
  ConfigServer(ConfigDistributor& distributor, const NodeTokens& tokens, OperatorMetrics& metrics)
      : agents_(metrics), service_(distributor, tokens, metrics, agents_) {}
  ~ConfigServer() { stop(); }

  // Listens on `address` (port 0 picks one) and returns the bound port. An address in use is
  // an error that says so (gRPC's own would not).
  absl::StatusOr<int> start(const common::SocketAddress& address,
                            std::shared_ptr<grpc::ServerCredentials> credentials);
  // Ends every stream (agents reconnect to the next operator) and stops listening.
  void stop();

  // Each node's agent as the streams saw it (also while the server is stopped).
  const AgentStatusBoard& agents() const { return agents_; }

 private:
  AgentStatusBoard agents_;
  ConfigService service_;
  std::unique_ptr<grpc::Server> server_;
};

// TLS with the operator's serving key and chain; clients are not asked for a certificate
// (agents authenticate with their node token).
std::shared_ptr<grpc::ServerCredentials> serverTlsCredentials(const std::string& key_pem,
                                                              const std::string& chain_pem);

}  // namespace weft::op
