#pragma once

// The same-node fast path (capture/fast_path.h) as a Relay: for a connection whose endpoint
// runs on this node, it pairs the two agent sockets with the pods' sockets in the kernel and
// then runs the ordinary user-space relay, which sees only what reaches the agent through
// TCP: bytes the pods sent before the pairing, and EOFs and resets, which it passes on as
// always. After every write it tells the kernel how far it got, so the kernel takes over a
// pod's sends exactly when nothing older is left in flight.
//
// Byte counters: the kernel's redirected bytes never pass through the agent, so the counts
// come from the agent sockets' TCP counters (FastPathConnection::bytesInto): added every
// `counter_refresh` while the connection lives, and a last time at each EOF and at the end.
//
// Connections to another node go to the fallback relay (their client socket released from
// the fast path, where the service's local endpoint had put it), and so do same-node ones
// the kernel cannot pair (counted in weft_proxy_fast_path_fallbacks_total by reason);
// paired ones are counted in weft_proxy_relays_total{mode="fast_path"}.

#include <chrono>

#include "agent/capture/fast_path.h"
#include "agent/proxy/relay.h"
#include "agent/telemetry/metrics.h"

namespace weft::agent::proxy {

struct FastPathRelayOptions {
  size_t buffer_size = 64 * 1024;  // per direction, for what still goes through the agent
  // How often a live connection's byte counts are added to the metrics: well below a usual
  // 15 s scrape interval, and cheap (a few syscalls per connection per period).
  std::chrono::milliseconds counter_refresh{5000};
};

class FastPathRelay : public Relay {
 public:
  // `fast_path` may be shared between workers (it is thread-safe); `fallback` belongs to this
  // relay's worker. Both, and `metrics`, must outlive the relay's connections.
  FastPathRelay(capture::FastPath& fast_path, Relay& fallback, telemetry::Metrics& metrics,
                FastPathRelayOptions options = {});

  void start(RelayJob job, Done done) override;

 private:
  capture::FastPath& fast_path_;
  Relay& fallback_;
  telemetry::Metrics& metrics_;
  FastPathRelayOptions options_;
};

}  // namespace weft::agent::proxy
