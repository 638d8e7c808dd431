#pragma once

// The seam between "a connection is set up" and "its bytes move". The outbound connection
// hands both connected sockets to a Relay; BufferedRelay copies through user space, and
// FastPathRelay (fast_path_relay.h) lets the kernel move same-node connections' bytes while
// it copies whatever still reaches the agent.

#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "agent/telemetry/metrics.h"

namespace weft::agent::proxy {

enum class RelayOutcome {
  kCompleted,  // both directions reached EOF and were shut down in turn
  kFailed,     // a read or write failed; both sockets were reset
};

// One connection, handed over right after the upstream connect completed; nothing has been
// read from either socket yet.
struct RelayJob {
  asio::ip::tcp::socket client;    // accepted from the source workload
  asio::ip::tcp::socket upstream;  // connected to the chosen endpoint
  telemetry::ConnectionCounters counters;
  bool same_node = false;  // the endpoint runs on this node (a kernel fast path may apply)
  // The service has an endpoint on this node, so the client's socket may have joined the
  // fast path at connect (capture/fast_path.h), whichever endpoint was then picked.
  bool service_has_local_endpoint = false;
};

class Relay {
 public:
  using Done = std::function<void(RelayOutcome)>;
  virtual ~Relay() = default;

  // Takes both sockets (on the same executor) and moves bytes until both directions are
  // done: EOF from one side is passed on as shutdown(SHUT_WR) to the other. Adds the bytes
  // read from the client to counters.received_bytes and the bytes written to it to
  // counters.sent_bytes. Calls `done` exactly once, after both sockets are closed.
  virtual void start(RelayJob job, Done done) = 0;
};

// The two sockets of a relayed connection.
enum class RelaySide { kClient, kUpstream };

// Observes a user-space relay session, for relays that share the work with the kernel.
// Called on the session's executor.
class RelayTap {
 public:
  virtual ~RelayTap() = default;
  // `total` bytes have been written into `into` so far.
  virtual void onWritten(RelaySide into, uint64_t total) = 0;
  // The other socket reached EOF; called right before `into` is shut down for writing.
  virtual void onEof(RelaySide into) = 0;
  // Called once, right before both sockets are closed.
  virtual void onClosing() = 0;
};

// The user-space relay loop, with two fixed buffers of `buffer_size`: what BufferedRelay
// runs, and what FastPathRelay runs with a tap. Counts bytes in job.counters' byte counters
// (when not null) and calls `done` as Relay::start describes.
void runRelaySession(RelayJob job, size_t buffer_size, std::shared_ptr<RelayTap> tap,
                     std::function<void(RelayOutcome)> done);

// Copies with two fixed buffers per connection, one per direction. With `metrics`, every
// connection it takes is counted in weft_proxy_relays_total{mode="buffered"}.
class BufferedRelay : public Relay {
 public:
  explicit BufferedRelay(size_t buffer_size, telemetry::Metrics* metrics = nullptr)
      : buffer_size_(buffer_size), metrics_(metrics) {}

  void start(RelayJob job, Done done) override;

 private:
  size_t buffer_size_;
  telemetry::Metrics* metrics_;
};

}  // namespace weft::agent::proxy
