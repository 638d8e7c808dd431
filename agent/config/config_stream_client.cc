#include "agent/config/config_stream_client.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace weft::agent::config {

using api::v1alpha1::ConfigRequest;
using api::v1alpha1::ConfigResponse;

namespace {

constexpr int kMaxConfigResponseBytes = 256 << 20;

grpc::ChannelArguments channelArguments(const StreamClientOptions& options) {
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) {
    // The operator is dialled by address (the lab) or a Service name that is not the
    // certificate's: check the name its certificate was issued for.
    args.SetSslTargetNameOverride(options.server_name);
  }
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // The first response carries the node's whole config: past gRPC's 4 MiB default for a
  // node that sees ~20,000 services.
  args.SetMaxReceiveMessageSize(kMaxConfigResponseBytes);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC uses it as the connect timeout (20 s by
  // default); at our 100 ms a TLS handshake with a busy operator would never finish.
  // Notice an operator that vanished without closing the connection (node down, partition).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // The stream is idle while the config does not change: keep pinging all the same (the
  // operator allows it, operator/distribute/config_server.cc).
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return args;
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> operatorTlsCredentials(const std::string& bundle_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = bundle_pem;
  return grpc::SslCredentials(options);
}

ConfigStreamClient::ConfigStreamClient(StreamClientOptions options, ConfigStore& store,
                                       telemetry::Metrics& metrics, OnApplied on_applied)
    : options_(std::move(options)),
      store_(store),
      metrics_(metrics),
      on_applied_(std::move(on_applied)),
      config_(options_.node_name),
      backoff_(options_.initial_backoff, options_.max_backoff,
               options_.jitter ? options_.jitter : common::randomJitter()) {}

void ConfigStreamClient::start() {
  metrics_.setConfigStreamConnected(false);
  thread_ = std::thread([this] { run(); });
}

void ConfigStreamClient::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (context_ != nullptr) {
      context_->TryCancel();
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

absl::Status ConfigStreamClient::lastError() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void ConfigStreamClient::run() {
  while (true) {
    const grpc::Status status = runStream();
    setConnected(false);
    std::unique_lock lock(mu_);
    if (stopping_) {
      return;
    }
    last_error_ =
        absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    const std::chrono::milliseconds delay = backoff_.next();
    // Loud once per outage, then quiet: an operator away for an hour is one warning.
    const int attempt = ++failures_;
    spdlog::log(attempt == 1 ? spdlog::level::warn : spdlog::level::debug,
                "config stream to {}: {} ({}); serving the last good config, retrying in {} ms "
                "(attempt {})",
                options_.target, status.error_message(), static_cast<int>(status.error_code()),
                delay.count(), attempt);
    wake_.wait_for(lock, delay, [this] { return stopping_; });
    if (stopping_) {
      return;
    }
  }
}

grpc::Status ConfigStreamClient::runStream() {
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return grpc::Status::CANCELLED;
    }
    context_ = &context;
  }
  // A channel per attempt: our backoff decides when to dial. A long-lived channel would keep
  // failing new streams with its cached error while its own reconnection idles (seconds
  // after the operator is back, gRPC 1.51's pick_first), and its subchannel must not be
  // shared with an earlier attempt's (local pool).
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options_.target, options_.credentials, channelArguments(options_));
  const auto stub = api::v1alpha1::ConfigService::NewStub(channel);
  auto stream = stub->StreamConfig(&context);
  ConfigRequest hello = config_.initialRequest();
  hello.set_agent_version(options_.agent_version);
  if (stream->Write(hello)) {
    ConfigResponse response;
    while (stream->Read(&response)) {
      setConnected(true);
      const absl::Status applied = applyResponse(response);
      if (!stream->Write(answer(response.nonce(), applied))) {
        break;
      }
    }
  }
  grpc::Status status = stream->Finish();
  std::lock_guard lock(mu_);
  context_ = nullptr;
  return status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the operator ended the stream")
                     : status;
}

absl::Status ConfigStreamClient::applyResponse(const ConfigResponse& response) {
  absl::StatusOr<ConfigSnapshotPtr> snapshot = config_.apply(response, absl::Now());
  if (!snapshot.ok()) {
    metrics_.countConfigUpdate(false);
    spdlog::error(
        "config version {} from the operator rejected (the last good config keeps "
        "serving): {}",
        response.config_version(), std::string(snapshot.status().message()));
    return snapshot.status();
  }
  // An empty response to a reconnect says "you are up to date": nothing to publish.
  const ConfigSnapshotPtr serving = store_.current();
  if (serving != nullptr && serving->version() == (*snapshot)->version() &&
      response.deltas_size() == 0) {
    spdlog::info("config stream: version {} is still current", response.config_version());
    return absl::OkStatus();
  }
  metrics_.countConfigUpdate(true);
  store_.publish(*std::move(snapshot));
  spdlog::info("config version {} from the operator applied ({} resource types changed)",
               response.config_version(), response.deltas_size());
  if (on_applied_) {
    on_applied_();
  }
  return absl::OkStatus();
}

void ConfigStreamClient::setConnected(bool connected) {
  metrics_.setConfigStreamConnected(connected);
  if (connected) {
    if (failures_ > 0) {
      spdlog::info("config stream to {}: connected again after {} failed attempts", options_.target,
                   failures_);
    }
    backoff_.reset();
    failures_ = 0;
  }
}

}  // namespace weft::agent::config
