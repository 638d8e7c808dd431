#pragma once

// A workload identity: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
// Parsing is strict because an identity string arrives from certificates and CSRs, i.e. from
// peers: anything the SPIFFE spec or Kubernetes naming would not produce is refused, so two
// spellings can never name the same workload.

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft::common::identity {

// Limits from the SPIFFE spec (trust domain 255, whole ID 2048) and Kubernetes
// (namespace: DNS-1123 label, 63; service account: DNS-1123 subdomain, 253).
inline constexpr size_t kMaxTrustDomainLength = 255;
inline constexpr size_t kMaxSpiffeIdLength = 2048;
inline constexpr size_t kMaxNamespaceLength = 63;
inline constexpr size_t kMaxServiceAccountLength = 253;

struct SpiffeId {
  std::string trust_domain;
  std::string namespace_name;  // "namespace" is a C++ keyword
  std::string service_account;

  // Parses and validates; errors say which rule the input broke.
  static absl::StatusOr<SpiffeId> parse(absl::string_view text);
  // Builds one from parts, with the same validation as parse().
  static absl::StatusOr<SpiffeId> fromParts(absl::string_view trust_domain,
                                            absl::string_view namespace_name,
                                            absl::string_view service_account);

  std::string toString() const;

  friend bool operator==(const SpiffeId&, const SpiffeId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SpiffeId& id) {
    return H::combine(std::move(h), id.trust_domain, id.namespace_name, id.service_account);
  }
};

// OK when `trust_domain` is a valid SPIFFE trust domain name (lowercase letters, digits,
// '.', '-', '_'; 1..255 characters).
absl::Status validateTrustDomain(absl::string_view trust_domain);

// "spiffe://<trust_domain>": the ID of a trust domain itself, used as the CA's URI SAN.
std::string trustDomainUri(absl::string_view trust_domain);

// True when `uri` starts with the SPIFFE scheme, i.e. it claims to be a SPIFFE ID (valid or
// not); lets callers tell "no SPIFFE SAN" from "a malformed SPIFFE SAN".
bool hasSpiffeScheme(absl::string_view uri);

}  // namespace weft::common::identity
