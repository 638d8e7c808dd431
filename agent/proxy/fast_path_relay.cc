#include "agent/proxy/fast_path_relay.h"

#include <array>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <utility>

#include "spdlog/spdlog.h"

namespace weft::agent::proxy {
namespace {

using capture::AgentSocket;
using telemetry::FastPathFallbackReason;

AgentSocket agentSocket(RelaySide side) {
  return side == RelaySide::kClient ? AgentSocket::kClient : AgentSocket::kUpstream;
}

// Keeps the kernel informed of the relay's progress and counts the connection's bytes.
class FastPathTap : public RelayTap, public std::enable_shared_from_this<FastPathTap> {
 public:
  FastPathTap(std::unique_ptr<capture::FastPathConnection> connection,
              const telemetry::ConnectionCounters& counters, asio::any_io_executor executor,
              std::chrono::milliseconds refresh)
      : connection_(std::move(connection)),
        counters_(counters),
        refresh_(std::move(refresh)),
        timer_(std::move(executor)) {}

  void start() { scheduleRefresh(); }

  void onWritten(RelaySide into, uint64_t total) override {
    if (auto status = connection_->forwarded(agentSocket(into), total); !status.ok()) {
      // The kernel keeps sending through TCP, which the relay handles: slower, never wrong.
      spdlog::debug("fast path: {}", std::string(status.message()));
    }
  }

  void onEof(RelaySide into) override {
    // Every byte for `into` is in its send queue by now: count them before its FIN does.
    count(into);
    final_[index(into)] = true;
  }

  void onClosing() override {
    timer_.cancel();
    for (RelaySide side : {RelaySide::kClient, RelaySide::kUpstream}) {
      if (!final_[index(side)]) {
        count(side);
      }
    }
    connection_.reset();  // unpair before the relay closes the sockets
  }

 private:
  static size_t index(RelaySide side) { return side == RelaySide::kClient ? 0 : 1; }

  // Adds the bytes written into `side` since the last count to its counter: into the client
  // is what the agent sent the source workload, into the upstream what it received from it.
  void count(RelaySide side) {
    if (connection_ == nullptr || final_[index(side)]) {
      return;
    }
    auto total = connection_->bytesInto(agentSocket(side));
    if (!total.ok() || *total <= counted_[index(side)]) {
      return;
    }
    prometheus::Counter* counter =
        side == RelaySide::kClient ? counters_.sent_bytes : counters_.received_bytes;
    if (counter != nullptr) {
      counter->Increment(static_cast<double>(*total - counted_[index(side)]));
    }
    counted_[index(side)] = *total;
  }

  void scheduleRefresh() {
    timer_.expires_after(refresh_);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->connection_ == nullptr) {
        return;
      }
      self->count(RelaySide::kClient);
      self->count(RelaySide::kUpstream);
      self->scheduleRefresh();
    });
  }

  std::unique_ptr<capture::FastPathConnection> connection_;
  telemetry::ConnectionCounters counters_;
  std::chrono::milliseconds refresh_;
  asio::steady_timer timer_;
  std::array<uint64_t, 2> counted_{};  // by index(): bytes already added to the counters
  std::array<bool, 2> final_{};        // the side's count is complete (its EOF was counted)
};

FastPathFallbackReason fallbackReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return FastPathFallbackReason::kNotEstablished;
    case absl::StatusCode::kResourceExhausted:
      return FastPathFallbackReason::kMapFull;
    default:
      return FastPathFallbackReason::kKernelError;
  }
}

}  // namespace

FastPathRelay::FastPathRelay(capture::FastPath& fast_path, Relay& fallback,
                             telemetry::Metrics& metrics, FastPathRelayOptions options)
    : fast_path_(fast_path), fallback_(fallback), metrics_(metrics), options_(options) {}

void FastPathRelay::start(RelayJob job, Done done) {
  if (!job.same_node) {
    if (job.service_has_local_endpoint) {
      if (auto released = fast_path_.release(job.client.native_handle()); !released.ok()) {
        spdlog::debug("fast path: {}", std::string(released.message()));
      }
    }
    fallback_.start(std::move(job), std::move(done));
    return;
  }
  auto connection = fast_path_.pair(job.client.native_handle(), job.upstream.native_handle());
  if (!connection.ok()) {
    // Nothing was redirected yet: the user-space relay alone loses nothing.
    metrics_.countFastPathFallback(fallbackReason(connection.status()));
    spdlog::debug("same-node connection relayed in user space: {}",
                  std::string(connection.status().message()));
    fallback_.start(std::move(job), std::move(done));
    return;
  }
  metrics_.countRelay(telemetry::RelayMode::kFastPath);
  auto tap = std::make_shared<FastPathTap>(std::move(*connection), job.counters,
                                           job.client.get_executor(), options_.counter_refresh);
  tap->start();
  // The tap counts the bytes (most never pass through the session); the session must not.
  job.counters.received_bytes = nullptr;
  job.counters.sent_bytes = nullptr;
  runRelaySession(std::move(job), options_.buffer_size, std::move(tap), std::move(done));
}

}  // namespace weft::agent::proxy
