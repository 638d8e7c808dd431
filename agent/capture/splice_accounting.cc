#include "agent/capture/splice_accounting.h"

#include <netinet/tcp.h>

namespace weft::agent::capture {

// A fully closed socket (TCP_CLOSE) no longer says how it got there; it counts as having
// seen both FINs, the normal way to get there. A reset connection is broken either way.
bool finReceivedIn(uint8_t tcp_state) {
  switch (tcp_state) {
    case TCP_CLOSE_WAIT:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
    case TCP_TIME_WAIT:
    case TCP_CLOSE:
      return true;
    default:
      return false;
  }
}

bool finQueuedIn(uint8_t tcp_state) {
  switch (tcp_state) {
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
    case TCP_TIME_WAIT:
    case TCP_CLOSE:
      return true;
    default:
      return false;
  }
}

DirectionProgress computeDirectionProgress(const DirectionSample& s) {
  DirectionProgress out;
  out.eof = finReceivedIn(s.source_state);
  const uint64_t fin_in = out.eof && s.source_bytes_received > 0 ? 1 : 0;
  const uint64_t received = s.source_bytes_received - fin_in;
  // Every received byte went through the verdict program (or was read before the splice)...
  const bool all_seen = s.source_consumed_base + s.redirected == received;
  // ...and every redirected byte reached the target's send queue.
  const uint64_t target_total = s.target_bytes_acked + s.target_outq;
  const uint64_t fin = finQueuedIn(s.target_state) ? 1 : 0;
  const bool all_handed = target_total >= s.target_sent_base + fin &&
                          target_total - fin - s.target_sent_base == s.redirected;
  out.drained = all_seen && all_handed;
  return out;
}

}  // namespace weft::agent::capture
