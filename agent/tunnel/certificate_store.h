#pragma once

// The SVIDs this agent holds, one per local workload identity: the tunnel client presents the
// source workload's, the tunnel server the one the client asked for by server name. Written by
// the control thread (issue, rotation), read by workers at every handshake, so it is
// thread-safe; an SVID is replaced as a whole and connections keep the one they started with.

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/identity/spiffe_id.h"
#include "common/identity/svid.h"

namespace weft::agent::tunnel {

using SvidPtr = std::shared_ptr<const common::identity::Svid>;

class CertificateStore {
 public:
  // Adds or replaces the SVID for svid->id. InvalidArgument when the identity cannot be named
  // in SNI (see sni.h): such a workload could never be reached through a tunnel.
  absl::Status put(SvidPtr svid);
  void remove(const common::identity::SpiffeId& id);

  // Null when there is none.
  SvidPtr find(const common::identity::SpiffeId& id) const;
  SvidPtr findByServerName(absl::string_view server_name) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<common::identity::SpiffeId, SvidPtr> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SvidPtr> by_server_name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::agent::tunnel
