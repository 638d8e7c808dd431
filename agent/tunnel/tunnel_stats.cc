#include "agent/tunnel/tunnel_stats.h"

namespace weft::agent::tunnel {

absl::string_view handshakeFailureName(HandshakeFailure reason) {
  switch (reason) {
    case HandshakeFailure::kCertificate:
      return "certificate";
    case HandshakeFailure::kIdentity:
      return "identity";
    case HandshakeFailure::kServerName:
      return "server_name";
    case HandshakeFailure::kAlpn:
      return "alpn";
    case HandshakeFailure::kTimeout:
      return "timeout";
    case HandshakeFailure::kTls:
      return "tls";
  }
  return "tls";
}

// The codes follow tls_context.h: verification reports UNAUTHENTICATED / PERMISSION_DENIED
// (common/identity/verify.h), certificate selection NOT_FOUND / INVALID_ARGUMENT, ALPN
// FAILED_PRECONDITION, a handshake deadline DEADLINE_EXCEEDED.
HandshakeFailure classifyHandshakeError(const absl::Status& error) {
  switch (error.code()) {
    case absl::StatusCode::kUnauthenticated:
      return HandshakeFailure::kCertificate;
    case absl::StatusCode::kPermissionDenied:
      return HandshakeFailure::kIdentity;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
      return HandshakeFailure::kServerName;
    case absl::StatusCode::kFailedPrecondition:
      return HandshakeFailure::kAlpn;
    case absl::StatusCode::kDeadlineExceeded:
      return HandshakeFailure::kTimeout;
    default:
      return HandshakeFailure::kTls;
  }
}

uint64_t HandshakeFailureCounts::total() const {
  uint64_t sum = 0;
  for (const auto& count : counts_) {
    sum += count.load(std::memory_order_relaxed);
  }
  return sum;
}

}  // namespace weft::agent::tunnel
