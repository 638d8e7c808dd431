#pragma once

// The TLS server name a tunnel client sends to say which destination workload it wants: the
// server presents that workload's SVID. A SPIFFE ID is not a host name, so it is encoded as
//
//   <service-account>.<namespace>.<trust-domain>.weft
//
// The namespace is a DNS label (no dots) but the service account and the trust domain may hold
// dots, so the name is only decoded against a known trust domain: strip ".<td>.weft", the last
// label left is the namespace, the rest the service account. Both ends of a tunnel share the
// trust domain, so this is enough, and it keeps the name readable in packet captures.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity/spiffe_id.h"

namespace weft::agent::tunnel {

// RFC 6066 host names (and DNS) stop at 253 characters and 63 per label.
inline constexpr size_t kMaxServerNameLength = 253;
inline constexpr absl::string_view kServerNameSuffix = ".weft";

// InvalidArgument when the identity cannot be carried in SNI: the encoded name would be longer
// than 253 characters, or the trust domain has a '_' or a label outside 1..63 characters.
absl::StatusOr<std::string> encodeServerName(const common::identity::SpiffeId& id);

// The identity `server_name` names in `trust_domain`; InvalidArgument when it is not an
// encoding of a valid SPIFFE ID of that trust domain.
absl::StatusOr<common::identity::SpiffeId> decodeServerName(absl::string_view server_name,
                                                            absl::string_view trust_domain);

}  // namespace weft::agent::tunnel
