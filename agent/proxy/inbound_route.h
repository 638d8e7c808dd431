#pragma once

// Where an inbound tunnel stream may go. The client agent asked this node's agent for a
// workload identity (SNI, so this agent presented that identity's SVID) and named a target
// pod address; the stream goes through only when that address is an enrolled pod of this
// node running as exactly that identity (otherwise a client could make this agent vouch for
// one workload and deliver to another), and when the pod's AuthorizationPolicies let the
// client's verified identity reach that port. Decided from the config snapshot alone; the
// authorizer counts and logs its decision.

#include "absl/status/statusor.h"
#include "agent/config/config_snapshot.h"
#include "agent/policy/inbound_authorizer.h"
#include "agent/tunnel/tunnel_server.h"
#include "common/net/address.h"

namespace weft::agent::proxy {

// The pod to connect to, or why not (the tunnel server answers the error's HTTP status):
//  - UNAVAILABLE: no config yet (503);
//  - INVALID_ARGUMENT: the target is not "ip:port" (400);
//  - NOT_FOUND: no pod of this node has that IP (404; the client's config is stale);
//  - PERMISSION_DENIED: the pod is not enrolled, runs as another identity, or an
//    AuthorizationPolicy denies the client (403; the reason names the policy).
// `authorizer` is the current snapshot's (null: no config yet).
absl::StatusOr<common::SocketAddress> routeInboundStream(
    const policy::InboundAuthorizer* authorizer, const tunnel::StreamRequest& request);

}  // namespace weft::agent::proxy
