#pragma once

// TLS 1.3 contexts for the two tunnel roles, built from SVIDs. Both ends present an SVID and
// verify the peer's with common::identity::verifyFromStoreCtx against the bundle of the SVID
// they present (both ends of a tunnel are in one trust domain):
//  - client: presents the source workload's SVID, sends the destination identity as server
//    name (sni.h) and accepts only a server certificate naming exactly that identity;
//  - server: picks the SVID to present by server name from a CertificateStore and accepts any
//    client identity of its trust domain; which one may connect is the caller's decision, so
//    the verified identity is handed back (TlsPeerState::peer).
// ALPN must agree on "h2". No session resumption: connections are pooled and long-lived, a
// resumed session would skip the peer verification this file exists for, and TLS 1.3 tickets
// cost a message per connection for nothing.

#include <asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/tunnel/certificate_store.h"
#include "common/identity/spiffe_id.h"

namespace weft::agent::tunnel {

// Certificate validity is checked at this time; tests pass a fixed one.
using Clock = std::function<absl::Time()>;

// One TLS connection's identities. The connection owns it; it is attached to the SSL object
// (ex_data) while the handshake runs, and the callbacks fill it in.
struct TlsPeerState {
  SvidPtr local;                                            // what this end presents
  std::optional<common::identity::SpiffeId> expected_peer;  // client: the destination asked for
  const CertificateStore* store = nullptr;                  // server: SVIDs by server name
  const Clock* clock = nullptr;
  absl::Status failure;                            // why a callback refused
  std::optional<common::identity::SpiffeId> peer;  // the verified peer
};

// The client context for one source SVID (its certificate lives in the SSL_CTX); replaced as a
// whole when the SVID rotates.
class ClientTlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<ClientTlsContext>> create(SvidPtr source, Clock clock);

  asio::ssl::context& context() { return context_; }
  const SvidPtr& svid() const { return source_; }

  // Sets up `ssl` (made from context()) to reach `destination`: its server name, and `state`,
  // which must outlive the handshake.
  absl::Status prepare(SSL* ssl, const common::identity::SpiffeId& destination,
                       TlsPeerState* state) const;

 private:
  ClientTlsContext(asio::ssl::context context, SvidPtr source, Clock clock)
      : context_(std::move(context)), source_(std::move(source)), clock_(std::move(clock)) {}

  asio::ssl::context context_;
  SvidPtr source_;
  Clock clock_;
};

class ServerTlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<ServerTlsContext>> create(
      std::shared_ptr<const CertificateStore> store, Clock clock);

  asio::ssl::context& context() { return context_; }

  // Attaches `state` (which must outlive the handshake) to `ssl`, made from context().
  absl::Status prepare(SSL* ssl, TlsPeerState* state) const;

 private:
  ServerTlsContext(asio::ssl::context context, std::shared_ptr<const CertificateStore> store,
                   Clock clock)
      : context_(std::move(context)), store_(std::move(store)), clock_(std::move(clock)) {}

  asio::ssl::context context_;
  std::shared_ptr<const CertificateStore> store_;
  Clock clock_;
};

// After a completed handshake: the verified peer, provided ALPN settled on h2
// (FAILED_PRECONDITION otherwise).
absl::StatusOr<common::identity::SpiffeId> checkHandshake(SSL* ssl, const TlsPeerState& state);

// Detaches the TlsPeerState once the handshake is over, so it can be freed.
void detachPeerState(SSL* ssl);

// After a failed handshake: the reason one of our callbacks refused, else what TLS reported
// (UNAVAILABLE, e.g. the alert the peer sent). The codes say why (classifyHandshakeError in
// tunnel_stats.h): UNAUTHENTICATED / PERMISSION_DENIED the peer's certificate
// (common/identity/verify.h), NOT_FOUND / INVALID_ARGUMENT the server name (server only),
// FAILED_PRECONDITION no h2.
absl::Status handshakeError(const TlsPeerState& state, const std::error_code& ec);

}  // namespace weft::agent::tunnel
