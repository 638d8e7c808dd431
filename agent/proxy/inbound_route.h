#pragma once

// Where an inbound tunnel stream may go. The client agent asked this node's agent for a
// workload identity (SNI, so this agent presented that identity's SVID) and named a target
// pod address; the stream goes through only when that address is an enrolled pod of this
// node running as exactly that identity. Otherwise a client could make this agent vouch for
// one workload and deliver to another. Pure: decided from the config snapshot alone.

#include "absl/status/statusor.h"
#include "agent/config/config_snapshot.h"
#include "agent/tunnel/tunnel_server.h"
#include "common/net/address.h"

namespace weft::agent::proxy {

// The pod to connect to, or why not (the tunnel server answers the error's HTTP status):
//  - UNAVAILABLE: no config yet (503);
//  - INVALID_ARGUMENT: the target is not "ip:port" (400);
//  - NOT_FOUND: no pod of this node has that IP (404; the client's config is stale);
//  - PERMISSION_DENIED: the pod is not enrolled, or runs as another identity (403).
absl::StatusOr<common::SocketAddress> routeInboundStream(const config::ConfigSnapshot* snapshot,
                                                         const tunnel::StreamRequest& request);

}  // namespace weft::agent::proxy
