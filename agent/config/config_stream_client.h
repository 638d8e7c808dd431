#pragma once

// The agent's end of the config stream: a thread of its own that keeps one stream to the
// operator open, applies each response (StreamedConfig), publishes accepted snapshots to the
// ConfigStore and answers ACK or NACK. While the operator is away the store keeps the last
// good snapshot (the data path never notices), and the client reconnects with exponential
// backoff and jitter, reporting what it holds so an unchanged operator resends nothing.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/config/config_store.h"
#include "agent/config/streamed_config.h"
#include "agent/telemetry/metrics.h"
#include "common/util/backoff.h"
#include "weft/v1alpha1/config_service.grpc.pb.h"

namespace weft::agent::config {

struct StreamClientOptions {
  std::string target;     // the operator, "host:port"
  std::string node_name;  // this agent's node
  std::string token;      // the node's bootstrap token
  // TLS (trust bundle, server name checked) or, for tests only, insecure.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string server_name = "weft-operator";  // the name the operator's certificate carries
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{10'000};
  std::string agent_version = "weft-agent";
  // The backoff's jitter, uniform in [0, 1); empty: a random one. Tests inject their own.
  std::function<double()> jitter;
};

// TLS credentials that trust exactly the roots in `bundle_pem` (--operator-ca).
std::shared_ptr<grpc::ChannelCredentials> operatorTlsCredentials(const std::string& bundle_pem);

class ConfigStreamClient {
 public:
  // Called on the client's thread after a snapshot was published.
  using OnApplied = std::function<void()>;

  ConfigStreamClient(StreamClientOptions options, ConfigStore& store, telemetry::Metrics& metrics,
                     OnApplied on_applied = {});
  ~ConfigStreamClient() { stop(); }

  void start();
  // Ends the stream and the thread; the store keeps its snapshot.
  void stop();

  // Why the last stream ended (OK while none has), for logs and tests.
  absl::Status lastError() const;

 private:
  void run();
  grpc::Status runStream();
  absl::Status applyResponse(const api::v1alpha1::ConfigResponse& response);
  void setConnected(bool connected);

  StreamClientOptions options_;
  ConfigStore& store_;
  telemetry::Metrics& metrics_;
  OnApplied on_applied_;
  StreamedConfig config_;  // the client thread's only
  common::Backoff backoff_;
  int failures_ = 0;  // attempts since the stream was last up (client thread only)
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* context_ = nullptr;  // the stream in progress, to cancel it
  absl::Status last_error_;
};

}  // namespace weft::agent::config
