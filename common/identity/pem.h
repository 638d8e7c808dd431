#pragma once

// PEM encoding of keys, certificates and chains. Decoding is strict about what it finds
// inside the blocks (a key where a certificate belongs is an error, not skipped) and lenient
// about text between blocks, as certificate bundles carry comments there.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity/openssl_ptr.h"

namespace weft::common::identity {

// Inputs above this size are refused before parsing: no identity file comes close.
inline constexpr size_t kMaxPemBytes = 1 << 20;

// Unencrypted PKCS#8 ("PRIVATE KEY").
absl::StatusOr<std::string> privateKeyToPem(EVP_PKEY* key);
// Exactly one "PRIVATE KEY", "EC PRIVATE KEY" or "RSA PRIVATE KEY" block ("EC PARAMETERS"
// blocks are tolerated); encrypted keys are refused.
absl::StatusOr<EvpPkeyPtr> privateKeyFromPem(absl::string_view pem);

absl::StatusOr<std::string> certificateToPem(X509* cert);
// Concatenated blocks, in the order given.
absl::StatusOr<std::string> chainToPem(const CertChain& chain);

// Exactly one "CERTIFICATE" block.
absl::StatusOr<X509Ptr> certificateFromPem(absl::string_view pem);
// One or more "CERTIFICATE" blocks, in file order.
absl::StatusOr<CertChain> chainFromPem(absl::string_view pem);

// A certificate request ("CERTIFICATE REQUEST"), exactly one block; contents unchecked.
absl::StatusOr<std::string> requestToPem(X509_REQ* request);
absl::StatusOr<X509ReqPtr> requestFromPem(absl::string_view pem);

}  // namespace weft::common::identity
