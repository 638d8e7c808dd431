#pragma once

// When has a spliced direction handed every byte over? Decided from kernel counters only,
// so it holds however the kernel schedules its redirect worker. Pure, unit-tested.

#include <cstdint>

namespace weft::agent::capture {

// Counters of one direction source -> target, each read in this order: the source's
// tcp_info, the BPF byte counter, the target's tcp_info, the target's SIOCOUTQ. In that
// order a "drained" answer can be late but never early.
struct DirectionSample {
  uint64_t source_bytes_received = 0;  // tcpi_bytes_received: counts a received FIN as 1
  uint8_t source_state = 0;            // tcpi_state (TCP_ESTABLISHED, TCP_CLOSE_WAIT, ...)
  uint64_t redirected = 0;             // bytes the verdict program redirected source->target
  uint64_t target_bytes_acked = 0;     // tcpi_bytes_acked: counts SYN (active open) and FIN
  uint64_t target_outq = 0;            // SIOCOUTQ: unacked + unsent, a queued FIN included
  uint8_t target_state = 0;
  // At splice time: source bytes the agent had already read (always 0 today), and the
  // target's bytes_acked + SIOCOUTQ (what the agent wrote into it before, plus its SYN).
  uint64_t source_consumed_base = 0;
  uint64_t target_sent_base = 0;
};

struct DirectionProgress {
  bool eof = false;      // the source's peer finished sending
  bool drained = false;  // every byte the source received is in the target's send queue
};

DirectionProgress computeDirectionProgress(const DirectionSample& s);

// TCP states (include/net/tcp_states.h) in which a FIN has been received, or queued by us.
bool finReceivedIn(uint8_t tcp_state);
bool finQueuedIn(uint8_t tcp_state);

}  // namespace weft::agent::capture
