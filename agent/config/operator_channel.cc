#include "agent/config/operator_channel.h"

#include "absl/strings/str_cat.h"

namespace weft::agent::config {
namespace {

constexpr int kMaxOperatorResponseBytes = 256 << 20;

grpc::ChannelArguments channelArguments(const OperatorEndpoint& endpoint) {
  grpc::ChannelArguments args;
  if (!endpoint.server_name.empty()) {
    // The operator is dialled by address (the lab) or a Service name that is not the
    // certificate's: check the name its certificate was issued for.
    args.SetSslTargetNameOverride(endpoint.server_name);
  }
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // The first config response carries the node's whole config: past gRPC's 4 MiB default for
  // a node that sees ~20,000 services.
  args.SetMaxReceiveMessageSize(kMaxOperatorResponseBytes);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC uses it as the connect timeout (20 s by
  // default); at our 100 ms a TLS handshake with a busy operator would never finish.
  // Notice an operator that vanished without closing the connection (node down, partition).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // The config stream is idle while the config does not change: keep pinging all the same
  // (the operator allows it, operator/distribute/config_server.cc).
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return args;
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> operatorTlsCredentials(const std::string& bundle_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = bundle_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> dialOperator(const OperatorEndpoint& endpoint) {
  return grpc::CreateCustomChannel(endpoint.target, endpoint.credentials,
                                   channelArguments(endpoint));
}

void addNodeToken(grpc::ClientContext& context, const OperatorEndpoint& endpoint) {
  context.AddMetadata("authorization", absl::StrCat("Bearer ", endpoint.token));
}

}  // namespace weft::agent::config
