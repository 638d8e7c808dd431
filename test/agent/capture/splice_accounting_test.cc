#include "agent/capture/splice_accounting.h"

#include <netinet/tcp.h>

#include <catch2/catch.hpp>

namespace weft::agent::capture {
namespace {

// The upstream socket connected actively: its bytes_acked counts its SYN, so at splice
// time bytes_acked + outq = 1 (nothing written yet).
DirectionSample base() {
  DirectionSample s;
  s.source_state = TCP_ESTABLISHED;
  s.target_state = TCP_ESTABLISHED;
  s.target_sent_base = 1;
  s.target_bytes_acked = 1;
  return s;
}

TEST_CASE("a direction that moved every byte into the target's send queue is drained", "[splice]") {
  DirectionSample s = base();
  s.source_bytes_received = 1000;
  s.redirected = 1000;
  s.target_bytes_acked = 1 + 600;
  s.target_outq = 400;
  const DirectionProgress p = computeDirectionProgress(s);
  CHECK(p.drained);
  CHECK_FALSE(p.eof);
}

TEST_CASE("bytes still in the kernel's redirect queue mean not drained", "[splice]") {
  DirectionSample s = base();
  s.source_bytes_received = 1000;
  s.redirected = 1000;
  s.target_bytes_acked = 1 + 600;
  s.target_outq = 300;  // 100 bytes not yet handed to the target
  CHECK_FALSE(computeDirectionProgress(s).drained);
}

TEST_CASE("bytes received but not yet through the verdict mean not drained", "[splice]") {
  DirectionSample s = base();
  s.source_bytes_received = 1000;
  s.redirected = 900;
  s.target_bytes_acked = 1 + 900;
  CHECK_FALSE(computeDirectionProgress(s).drained);
}

TEST_CASE("the source's FIN counts as EOF, not as a byte to move", "[splice]") {
  DirectionSample s = base();
  s.source_state = TCP_CLOSE_WAIT;
  s.source_bytes_received = 1001;  // 1000 bytes + FIN
  s.redirected = 1000;
  s.target_bytes_acked = 1 + 1000;
  const DirectionProgress p = computeDirectionProgress(s);
  CHECK(p.eof);
  CHECK(p.drained);
}

TEST_CASE("the target's own queued FIN is not a moved byte", "[splice]") {
  DirectionSample s = base();
  s.source_state = TCP_CLOSE_WAIT;
  s.source_bytes_received = 11;
  s.redirected = 10;
  s.target_state = TCP_FIN_WAIT1;
  s.target_bytes_acked = 1 + 10;
  s.target_outq = 1;  // our FIN
  CHECK(computeDirectionProgress(s).drained);
}

TEST_CASE("bytes the agent wrote before the splice are not counted as moved", "[splice]") {
  DirectionSample s = base();
  s.target_sent_base = 1 + 50;  // SYN + a 50-byte preamble the agent wrote itself
  s.source_bytes_received = 100;
  s.redirected = 100;
  s.target_bytes_acked = 1 + 50 + 100;
  CHECK(computeDirectionProgress(s).drained);
  s.target_bytes_acked = 1 + 100;
  CHECK_FALSE(computeDirectionProgress(s).drained);
}

TEST_CASE("an idle spliced direction is trivially drained", "[splice]") {
  CHECK(computeDirectionProgress(base()).drained);
}

TEST_CASE("FIN states", "[splice]") {
  CHECK(finReceivedIn(TCP_CLOSE_WAIT));
  CHECK(finReceivedIn(TCP_LAST_ACK));
  CHECK_FALSE(finReceivedIn(TCP_ESTABLISHED));
  CHECK_FALSE(finReceivedIn(TCP_FIN_WAIT1));
  CHECK(finQueuedIn(TCP_FIN_WAIT1));
  CHECK(finQueuedIn(TCP_LAST_ACK));
  CHECK_FALSE(finQueuedIn(TCP_CLOSE_WAIT));
}

}  // namespace
}  // namespace weft::agent::capture
