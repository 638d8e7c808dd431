#pragma once

// The same-node fast path: a Relay that hands both sockets of a connection whose endpoint
// runs on this node to the kernel (capture::LocalSplicer), which then moves the bytes socket
// to socket without waking the agent. The agent only watches for the ends:
//  - it waits for each socket to become readable, which a spliced socket does only when its
//    peer finished sending (or on an error);
//  - after EOF from one side it polls SplicedPair::progress() on a short, growing timer until
//    the kernel has handed that direction's last byte to the other socket, and only then
//    passes the EOF on with shutdown(SHUT_WR): earlier would cut the stream short;
//  - when both directions are done, or on a reset or any error, it releases the pair (the
//    sockets leave the kernel fast path) and closes both sockets, with RST on failure.
//
// Byte counters stay exact: the kernel's per-direction counts are added to
// weft_tcp_received_bytes_total / weft_tcp_sent_bytes_total every `counter_refresh` while the
// connection lives (so a long-lived connection's counters move between scrapes) and a last
// time when it ends (so the totals equal what went through).
//
// Connections to another node go to the fallback relay (user space), and so do same-node
// connections the kernel refuses to splice (nothing was read yet, so nothing is lost); a
// refusal is counted in weft_proxy_splice_fallbacks_total by reason. A spliced connection is
// counted in weft_proxy_relays_total{mode="spliced"}.
//
// Encryption is not a concern yet: same-node traffic travels plain. When mTLS arrives, only
// connections that need no encryption may take this path.

#include <chrono>

#include "agent/capture/splice.h"
#include "agent/proxy/relay.h"
#include "agent/telemetry/metrics.h"

namespace weft::agent::proxy {

struct SplicedRelayOptions {
  // First wait between progress() polls while a finished direction drains; doubles on every
  // poll that finds bytes still in flight, up to drain_poll_max (a reader that takes its time
  // makes the agent wait without spinning).
  std::chrono::milliseconds drain_poll{1};
  std::chrono::milliseconds drain_poll_max{64};
  // How often a live spliced connection's byte counts are added to the metrics (and the pair
  // checked for drops and resets). Well below a usual 15 s scrape interval, and cheap: one
  // progress() call (a few syscalls) per connection per period.
  std::chrono::milliseconds counter_refresh{5000};
};

class SplicedRelay : public Relay {
 public:
  // `splicer` may be shared between workers (it is thread-safe); `fallback` belongs to this
  // relay's worker. Both, and `metrics`, must outlive the relay's connections.
  SplicedRelay(capture::LocalSplicer& splicer, Relay& fallback, telemetry::Metrics& metrics,
               SplicedRelayOptions options = {});

  void start(RelayJob job, Done done) override;

 private:
  capture::LocalSplicer& splicer_;
  Relay& fallback_;
  telemetry::Metrics& metrics_;
  SplicedRelayOptions options_;
};

}  // namespace weft::agent::proxy
