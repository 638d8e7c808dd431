#pragma once

// Counters the tunnel keeps for metrics. Workers increment them; the control thread reads them
// at scrape time, so they are plain relaxed atomics: no lock, no lookup on the data path.

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace weft::agent::tunnel {

// Why a TLS handshake failed, as a metric label.
enum class HandshakeFailure {
  kCertificate,  // the peer's certificate is not trusted: unknown CA, expired, not an SVID
  kIdentity,     // trusted, but names the wrong peer: other trust domain or other identity
  kServerName,   // server: no server name, or no SVID for the one the client sent
  kAlpn,         // the peer does not speak h2
  kTimeout,      // the handshake did not finish in time
  kTls,          // anything else: the peer's alert, a TLS protocol error, a lost connection
};
inline constexpr size_t kHandshakeFailureCount = 6;

// "certificate", "identity", "server_name", "alpn", "timeout", "tls".
absl::string_view handshakeFailureName(HandshakeFailure reason);

// The reason for a handshake error as tls_context.h reports it (by its status code).
HandshakeFailure classifyHandshakeError(const absl::Status& error);

class HandshakeFailureCounts {
 public:
  void add(HandshakeFailure reason) {
    counts_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t operator[](HandshakeFailure reason) const {
    return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  uint64_t total() const;

 private:
  std::array<std::atomic<uint64_t>, kHandshakeFailureCount> counts_{};
};

struct TunnelClientStats {
  std::atomic<uint64_t> connect_failures{0};  // TCP connects to a node that failed or timed out
  std::atomic<uint64_t> handshakes{0};        // TLS handshakes started
  HandshakeFailureCounts handshake_failures;  // ... and failed
  std::atomic<uint64_t> streams_opened{0};    // answered 200
  std::atomic<uint64_t> streams_refused{0};   // answered with another status
  std::atomic<uint64_t> streams_failed{0};    // no answer: no SVID, dial or connection failure
};

struct TunnelServerStats {
  std::atomic<uint64_t> accepted{0};           // TCP connections
  std::atomic<uint64_t> handshakes{0};         // TLS handshakes that passed
  HandshakeFailureCounts handshake_failures;   // ... and those that failed
  std::atomic<uint64_t> streams{0};            // CONNECT requests
  std::atomic<uint64_t> streams_denied{0};     // the StreamHandler said no (4xx, 5xx)
  std::atomic<uint64_t> upstream_failures{0};  // the connect to the target failed (502, 504)
  std::atomic<uint64_t> streams_opened{0};     // answered 200 and relayed
  std::atomic<uint64_t> relays_failed{0};      // relays that ended in a reset
};

}  // namespace weft::agent::tunnel
