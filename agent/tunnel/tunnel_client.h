#pragma once

// The outbound end of the tunnel: opens CONNECT streams to other nodes' agents over pooled
// TLS connections. Each worker owns one TunnelClient and calls it on its executor only (no
// locks); the CertificateStore it reads SVIDs from is shared with the control thread.
//
// How the agent uses it, per captured connection to a pod on another node:
//
//   client.openStream(source_id, node_15008, destination_id, "10.244.2.11:8080",
//       [pod_socket](absl::StatusOr<TunnelStreamPtr> stream) {
//         if (!stream.ok()) { reset pod_socket; count the error; return; }
//         relayStream(*stream, std::move(pod_socket), 64 << 10, on_done);  // stream_relay.h
//       });
//
// Pooling: a connection authenticates one client identity (the source workload's SVID) and
// one server identity (the destination workload's SVID, asked for by SNI), so the pool key is
// (source identity, destination node address, destination identity). Per key:
//  - a connection with room under the peer's SETTINGS_MAX_CONCURRENT_STREAMS takes the
//    stream: no handshake, one HEADERS frame;
//  - while the first connection's handshake runs, further opens wait for it; when its peer's
//    SETTINGS arrive, the waiters beyond its limit go to another connection;
//  - a connection that dies fails its streams and leaves the pool; the next open dials anew;
//  - once the source's SVID in the store is replaced (rotation), connections that presented
//    the old one take no new streams: they send GOAWAY and close when their streams end.

#include <asio/any_io_executor.hpp>
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

struct TunnelClientOptions {
  H2Options h2;
  Clock clock = [] { return absl::Now(); };
  // TCP connect plus TLS handshake.
  absl::Duration connect_timeout = absl::Seconds(10);
};

class TunnelClient {
 public:
  using OpenHandler = H2Connection::OpenHandler;

  TunnelClient(asio::any_io_executor executor, std::shared_ptr<const CertificateStore> identities,
               TunnelClientOptions options = {});
  // Fails every stream and pending open.
  ~TunnelClient();
  TunnelClient(const TunnelClient&) = delete;
  TunnelClient& operator=(const TunnelClient&) = delete;

  // A stream to `target` ("ip:port" or "[ipv6]:port", where the destination node's agent
  // should connect) as `source`, through the agent at `node`, which must present
  // `destination`'s SVID. `handler` runs on the executor, never inside this call, with the
  // stream once the peer answered 200, or with an error:
  //  - NOT_FOUND: this agent holds no SVID for `source`;
  //  - INVALID_ARGUMENT: an identity SNI cannot carry (sni.h);
  //  - UNAVAILABLE: connect, handshake timeout, the peer's TLS alert, the connection died;
  //  - UNAUTHENTICATED / PERMISSION_DENIED: the peer's certificate (untrusted / wrong identity);
  //  - FAILED_PRECONDITION: the peer does not speak h2;
  //  - the peer's refusal, with its HTTP status (refusalStatus() in h2_connection.h):
  //    403 PERMISSION_DENIED, 400 INVALID_ARGUMENT, 404 NOT_FOUND, 502/503/504 UNAVAILABLE,
  //    others UNKNOWN.
  void openStream(const common::identity::SpiffeId& source, const common::SocketAddress& node,
                  const common::identity::SpiffeId& destination, std::string target,
                  OpenHandler handler);

  // Pooled connections (dialling or up). Call on the executor.
  size_t connectionCount() const;
  // Any thread.
  const TunnelClientStats& stats() const;
  // Fails every stream and pending open and empties the pool.
  void closeAll();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace weft::agent::tunnel
