#pragma once

// Key generation and the key checks the rest of the identity code relies on.

#include <openssl/evp.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/identity/openssl_ptr.h"

namespace weft::common::identity {

// A fresh ECDSA P-256 key: the only key type an SVID carries.
absl::StatusOr<EvpPkeyPtr> generateP256Key();

// True for an EC key on the P-256 (prime256v1) curve.
bool isP256Key(const EVP_PKEY* key);

// "EC P-256", "RSA 2048", ... for error messages.
std::string describeKey(const EVP_PKEY* key);

// The digest a CA key signs with: SHA-256 for P-256 and RSA (>= 2048 bits), SHA-384 for
// P-384. Other key types are refused, so a user-provided CA key is rejected at load time
// rather than at the first signature.
absl::StatusOr<const EVP_MD*> signingDigest(const EVP_PKEY* key);

// True when the public halves of `a` and `b` are the same key.
bool samePublicKey(const EVP_PKEY* a, const EVP_PKEY* b);

}  // namespace weft::common::identity
