#pragma once

// The inbound end of the tunnel (port 15008): accepts TLS connections, presents the SVID the
// client named (SNI), verifies the client's SVID, and serves CONNECT streams. For each one it
// asks a StreamHandler where to connect (L4 authorization lives there), then connects, answers
// 200 and relays between the stream and the TCP connection (stream_relay.h), or answers with
// an error status and connects nowhere.
//
// How the agent uses it: one TunnelServer per worker, each on the worker's executor with
// reuse_port, all listening on 15008 and sharing one CertificateStore. The handler is where L4
// authorization goes; a sketch (the policy check is the agent's, not this library's):
//
//   [](const StreamRequest& r) -> absl::StatusOr<SocketAddress> {
//     ASSIGN_OR_RETURN(SocketAddress pod, parseTarget(r.target));
//     if (!policyAllows(r.source, r.destination, pod)) {
//       return absl::PermissionDeniedError("...");  // answered 403, nothing is connected
//     }
//     return pod;
//   }
//
// Runs on one executor; create, listen, stop and destroy it there too.

#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/tunnel/certificate_store.h"
#include "agent/tunnel/h2_connection.h"
#include "agent/tunnel/tls_context.h"
#include "agent/tunnel/tunnel_stats.h"
#include "common/identity/spiffe_id.h"
#include "common/net/address.h"

namespace weft::agent::tunnel {

struct StreamRequest {
  common::identity::SpiffeId source;       // the client's verified SVID
  common::identity::SpiffeId destination;  // the SVID this server presented (from SNI)
  std::string target;                      // the CONNECT authority, host:port
};

// Where to connect for `request`, or why not. Runs on the server's executor, once per stream:
// it must not block. Errors become the answer: PERMISSION_DENIED / UNAUTHENTICATED → 403,
// INVALID_ARGUMENT → 400, NOT_FOUND → 404, UNAVAILABLE → 503, anything else → 500. A connect
// that fails is answered 502, one that times out 504.
using StreamHandler =
    std::function<absl::StatusOr<common::SocketAddress>(const StreamRequest& request)>;

// The CONNECT authority as an address: "10.0.0.1:8080" or "[fd00::1]:8080" (a tunnel target is
// always an IP literal; the source agent resolved names already). InvalidArgument otherwise.
absl::StatusOr<common::SocketAddress> parseTarget(absl::string_view authority);

// The status a StreamHandler error is answered with.
int httpStatusFor(const absl::Status& status);

struct TunnelServerOptions {
  H2Options h2;
  Clock clock = [] { return absl::Now(); };
  size_t relay_buffer = 64 << 10;
  // A client that has not finished its TLS handshake by then is dropped.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // The connect to the stream's target; answered 504 when it runs out.
  absl::Duration connect_timeout = absl::Seconds(5);
  // SO_REUSEPORT, so one server per worker can listen on the same port.
  bool reuse_port = false;
};

class TunnelServer {
 public:
  static absl::StatusOr<std::unique_ptr<TunnelServer>> create(
      asio::any_io_executor executor, std::shared_ptr<const CertificateStore> certificates,
      StreamHandler handler, TunnelServerOptions options = {});
  // Stops.
  ~TunnelServer();

  absl::Status listen(const common::SocketAddress& address);
  common::SocketAddress localAddress() const;
  // Connections past their handshake and not closed yet.
  size_t connectionCount() const;
  // Closes the listener and every connection: their streams fail.
  void stop();
  // Any thread.
  const TunnelServerStats& stats() const;

 private:
  class Impl;
  explicit TunnelServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace weft::agent::tunnel
