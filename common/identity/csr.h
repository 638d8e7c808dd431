#pragma once

// Certificate signing requests: the agent builds one per service account, the operator's CA
// parses it. Parsing trusts nothing in the request but its proof of key possession and the
// one identity it names; the CA writes every other field of the certificate itself.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity/openssl_ptr.h"
#include "common/identity/spiffe_id.h"

namespace weft::common::identity {

// A CSR that passed parseCsrPem: the identity asked for and the P-256 key to certify.
struct CertificateRequest {
  SpiffeId id;
  EvpPkeyPtr public_key;
};

// A PEM CSR for `id`: a URI SAN only, empty subject, signed with `key` (EC P-256).
absl::StatusOr<std::string> buildCsrPem(const SpiffeId& id, EVP_PKEY* key);

// Parses a PEM CSR and checks that its self-signature verifies, its key is EC P-256 and it
// asks for exactly one subjectAltName, a SPIFFE URI. Errors are InvalidArgument and say
// which rule failed.
absl::StatusOr<CertificateRequest> parseCsrPem(absl::string_view pem);

}  // namespace weft::common::identity
