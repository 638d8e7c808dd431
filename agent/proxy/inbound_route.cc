#include "agent/proxy/inbound_route.h"

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace weft::agent::proxy {

absl::StatusOr<common::SocketAddress> routeInboundStream(
    const policy::InboundAuthorizer* authorizer, const tunnel::StreamRequest& request) {
  if (authorizer == nullptr) {
    return absl::UnavailableError("this agent has no config yet");
  }
  const config::ConfigSnapshot* snapshot = authorizer->snapshot().get();
  ASSIGN_OR_RETURN(const common::SocketAddress target, tunnel::parseTarget(request.target));
  const config::WorkloadInfo* pod = snapshot->findWorkload(target.ip);
  if (pod == nullptr) {
    return absl::NotFoundError(absl::StrCat(target.ip.toString(), " is not a pod of this node"));
  }
  if (!pod->identity.has_value()) {
    return absl::PermissionDeniedError(absl::StrCat(
        pod->namespace_name, "/", pod->name, " is not enrolled in the mesh"));
  }
  if (*pod->identity != request.destination) {
    return absl::PermissionDeniedError(absl::StrCat(
        pod->namespace_name, "/", pod->name, " runs as ", pod->identity->toString(),
        ", not as ", request.destination.toString(), " (the identity the client asked for)"));
  }
  ASSIGN_OR_RETURN(const policy::AuthorizationDecision decision,
                   authorizer->check({.destination = target, .peer = request.source}));
  if (!decision.allowed) {
    return absl::PermissionDeniedError(decision.reason);
  }
  return target;
}

}  // namespace weft::agent::proxy
