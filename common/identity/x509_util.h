#pragma once

// Small certificate helpers shared by the CSR, CA, verification and SVID code.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/openssl_ptr.h"
#include "common/identity/spiffe_id.h"

namespace weft::common::identity {

// What a subjectAltName extension names: the URIs, and how many names of other kinds
// (DNS, IP, e-mail, ...).
struct SubjectAltNames {
  std::vector<std::string> uris;
  int others = 0;
};

// Reads the SAN extension of a certificate; an empty result when there is none, an error when
// there are several (RFC 5280 allows one of each extension).
absl::StatusOr<SubjectAltNames> certificateSans(X509* cert);
// The same for the extensions a CSR asks for.
absl::StatusOr<SubjectAltNames> requestSans(const STACK_OF(X509_EXTENSION) * extensions);

// The one SPIFFE ID in `sans` (an X.509-SVID has exactly one URI SAN, and it is a SPIFFE ID;
// other name types are allowed by the SPIFFE spec). `what` starts the error messages.
absl::StatusOr<SpiffeId> spiffeIdFromSans(const SubjectAltNames& sans, absl::string_view what);

// basicConstraints CA:TRUE.
bool isCa(X509* cert);
bool isSelfSigned(X509* cert);

absl::Time notBefore(const X509* cert);
absl::Time notAfter(const X509* cert);
absl::Status setValidity(X509* cert, absl::Time not_before, absl::Time not_after);

// "CN=weft root CA,O=example.org", or the first URI SAN when the subject is empty: names a
// certificate in error messages.
std::string describeCert(X509* cert);

// The serial number in uppercase hex, as `openssl x509 -serial` prints it: names a
// certificate to an operator comparing what an agent holds with a file.
std::string serialHex(const X509* cert);

// "2026-11-23T12:00:00Z".
std::string formatTime(absl::Time t);

// A fresh object decoded from `cert`'s DER encoding: what a peer will parse, and without
// extension data OpenSSL cached while the certificate was still being built.
absl::StatusOr<X509Ptr> reparse(X509* cert);

}  // namespace weft::common::identity
