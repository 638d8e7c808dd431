#include "operator/distribute/config_server.h"

#include <asio/io_context.hpp>
#include <chrono>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/net/asio.h"
#include "operator/distribute/config_delta.h"
#include "spdlog/spdlog.h"

namespace weft::op {

using api::v1alpha1::ConfigRequest;
using api::v1alpha1::ConfigResponse;

namespace {

using Clock = std::chrono::steady_clock;

// An agent's NACK message is kept and shown up to this size.
constexpr size_t kMaxNackReasonBytes = 4096;

// The node the call's bearer token proves, or the UNAUTHENTICATED status to end it with.
absl::StatusOr<std::string> authenticate(const grpc::CallbackServerContext& context,
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

// One agent's stream. Reads and writes complete on gRPC's threads, config changes arrive on
// the publisher's: mu_ orders them. Deletes itself in OnDone, after leaving the distributor.
class ConfigStream final : public grpc::ServerBidiReactor<ConfigRequest, ConfigResponse>,
                           public ConfigSubscriber {
 public:
  ConfigStream(grpc::CallbackServerContext* context, ConfigDistributor& distributor,
               const NodeTokens& tokens, OperatorMetrics& metrics, AgentStatusBoard& agents)
      : distributor_(distributor), metrics_(metrics), agents_(agents), peer_(context->peer()) {
    absl::StatusOr<std::string> node = authenticate(*context, tokens);
    if (!node.ok()) {
      spdlog::warn("config stream from {} refused: {}", peer_,
                   std::string(node.status().message()));
      finishLocked(
          grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(node.status().message())));
      return;
    }
    node_ = *node;
    StartRead(&request_);
  }

  void configChanged(NodeResourcesPtr config) override {
    std::lock_guard lock(mu_);
    latest_ = std::move(config);
    maybeSendLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard lock(mu_);
      finishLocked(grpc::Status::OK);  // the agent went away or half-closed
      return;
    }
    if (!subscribed_) {
      // Outside mu_: subscribing calls configChanged(), which takes it.
      if (!acceptFirstRequest()) {
        return;
      }
      distributor_.subscribe(node_, this);
    } else {
      std::lock_guard lock(mu_);
      answered(request_);
      maybeSendLocked();
    }
    std::lock_guard lock(mu_);
    if (!finished_) {  // else cancelled meanwhile: no more reads
      StartRead(&request_);
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      finishLocked(grpc::Status::OK);
      return;
    }
    maybeSendLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    finishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    if (subscribed_) {
      distributor_.unsubscribe(node_, this);
      agents_.disconnected(node_, absl::Now());
      spdlog::info("agent of node {} disconnected ({})", node_, peer_);
    }
    delete this;
  }

 private:
  // Checks the node the agent names and takes what it holds. False: the stream is finished.
  bool acceptFirstRequest() {
    std::lock_guard lock(mu_);
    if (!request_.node_name().empty() && request_.node_name() != node_) {
      finishLocked(grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat("this token is node ", node_, "'s, not node ", request_.node_name(),
                       "'s: an agent only gets its own node's config")));
      return false;
    }
    held_ = common::config::versionsOf(request_.initial_versions());
    subscribed_ = true;
    agents_.connected(node_, peer_, request_.agent_version(), absl::Now());
    spdlog::info("agent of node {} connected from {} ({})", node_, peer_,
                 request_.agent_version().empty() ? "unknown version" : request_.agent_version());
    return true;
  }

  // An ACK or NACK of the response in flight; a stale or unknown nonce is ignored.
  void answered(const ConfigRequest& request) {
    if (!in_flight_.has_value() || request.response_nonce() != in_flight_->nonce) {
      spdlog::debug("node {}: answer to unknown nonce \"{}\" ignored", node_,
                    request.response_nonce());
      return;
    }
    if (request.error_detail().empty()) {
      applyToVersions(response_, held_);
      nacked_version_.clear();
      metrics_.observePushDuration(
          std::chrono::duration<double>(Clock::now() - in_flight_->sent_at).count());
      agents_.acked(node_, response_.config_version(), absl::Now());
    } else {
      nacked_version_ = response_.config_version();
      // The agent's message, bounded: it is kept, logged and shown.
      const std::string reason = request.error_detail().substr(0, kMaxNackReasonBytes);
      for (const auto& delta : response_.deltas()) {
        metrics_.countNack(node_, delta.type());
      }
      agents_.nacked(node_, nacked_version_, reason, absl::Now());
      spdlog::warn("node {} rejected config version {}: {}", node_, nacked_version_, reason);
    }
    in_flight_.reset();
  }

  // Sends what the agent lacks, when it has answered the previous response. The first
  // response of a stream is sent even when empty: it tells the agent it is up to date.
  void maybeSendLocked() {
    if (finished_ || !subscribed_ || writing_ || in_flight_.has_value() || latest_ == nullptr) {
      return;
    }
    if (latest_->version == nacked_version_) {
      return;  // the same content would be rejected again; wait for a change
    }
    ConfigResponse response = computeDelta(latest_->resources, held_);
    if (sent_any_ && response.deltas_size() == 0) {
      return;
    }
    response.set_nonce(absl::StrCat(++nonce_));
    response.set_config_version(latest_->version);
    response_ = std::move(response);
    const size_t bytes = response_.ByteSizeLong();
    for (const auto& delta : response_.deltas()) {
      metrics_.countPush(delta.type());
      metrics_.countPushed(bytes, delta.type(), delta.resources_size() + delta.removed_size());
    }
    in_flight_ = InFlight{response_.nonce(), Clock::now()};
    writing_ = true;
    sent_any_ = true;
    StartWrite(&response_);
  }

  void finishLocked(grpc::Status status) {
    if (!finished_) {
      finished_ = true;
      Finish(std::move(status));
    }
  }

  struct InFlight {
    std::string nonce;
    Clock::time_point sent_at;
  };

  ConfigDistributor& distributor_;
  OperatorMetrics& metrics_;
  AgentStatusBoard& agents_;
  const std::string peer_;
  std::string node_;
  // First request accepted (node checked, counted as connected); set before subscribing.
  bool subscribed_ = false;
  ConfigRequest request_;  // owned by the read in progress

  std::mutex mu_;
  NodeResourcesPtr latest_;
  common::config::VersionMap held_;  // what the agent has ACKed (or had at connect)
  ConfigResponse response_;          // the response in flight; valid until answered
  std::optional<InFlight> in_flight_;
  uint64_t nonce_ = 0;
  std::string nacked_version_;  // the last response was NACKed: do not resend this version
  bool writing_ = false;
  bool sent_any_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::ServerBidiReactor<ConfigRequest, ConfigResponse>* ConfigService::StreamConfig(
    grpc::CallbackServerContext* context) {
  return new ConfigStream(context, distributor_, tokens_, metrics_, agents_);
}

absl::StatusOr<int> ConfigServer::start(const common::SocketAddress& address,
                                        std::shared_ptr<grpc::ServerCredentials> credentials) {
  {
    // gRPC reports a failed bind only in its log; bind once ourselves for a clear reason.
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io);
    if (asio::error_code ec = common::openListener(probe, address, /*reuse_port=*/false)) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", address.toString(), ": ", ec.message()));
    }
  }
  int port = 0;
  grpc::ServerBuilder builder;
  // A second operator on the same port must fail, not share the agents with the first.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Agents ping every 30 s to notice a vanished operator, with no data flowing while their
  // config does not change: allow that, instead of answering "too many pings" (GOAWAY).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  // And notice a vanished agent: its node's stream would otherwise stay "connected".
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  // An agent's first request lists every resource it holds (~50 bytes each).
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.AddListeningPort(address.toString(), std::move(credentials), &port);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address.toString()));
  }
  return port;
}

void ConfigServer::stop() {
  if (server_ != nullptr) {
    // Streams never end by themselves: cancel them at once rather than wait.
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }
}

std::shared_ptr<grpc::ServerCredentials> serverTlsCredentials(const std::string& key_pem,
                                                              const std::string& chain_pem) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({key_pem, chain_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace weft::op
