#include "common/identity/keys.h"

#include <openssl/core_names.h>

#include "absl/strings/str_cat.h"
#include "common/identity/openssl_error.h"

namespace weft::common::identity {
namespace {

constexpr int kMinRsaBits = 2048;

// The curve's short name ("prime256v1"), empty for a non-EC key.
std::string curveName(const EVP_PKEY* key) {
  char name[64] = {};
  size_t length = 0;
  if (!EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                     &length) != 1) {
    clearOpenSslErrors();
    return "";
  }
  return std::string(name, length);
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> generateP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) {
    return openSslError("generating an EC P-256 key");
  }
  return key;
}

bool isP256Key(const EVP_PKEY* key) {
  return key != nullptr && curveName(key) == "prime256v1";
}

std::string describeKey(const EVP_PKEY* key) {
  if (key == nullptr) {
    return "no key";
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    const std::string curve = curveName(key);
    if (curve == "prime256v1") {
      return "EC P-256";
    }
    return absl::StrCat("EC ", curve.empty() ? "(unknown curve)" : curve);
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return absl::StrCat(type != nullptr ? type : "unknown", " ", EVP_PKEY_get_bits(key));
}

absl::StatusOr<const EVP_MD*> signingDigest(const EVP_PKEY* key) {
  const std::string curve = curveName(key);
  if (curve == "prime256v1") {
    return EVP_sha256();
  }
  if (curve == "secp384r1") {
    return EVP_sha384();
  }
  if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= kMinRsaBits) {
    return EVP_sha256();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("a CA key must be EC P-256, EC P-384 or RSA with at least ", kMinRsaBits,
                   " bits; got ", describeKey(key)));
}

bool samePublicKey(const EVP_PKEY* a, const EVP_PKEY* b) {
  const bool same = a != nullptr && b != nullptr && EVP_PKEY_eq(a, b) == 1;
  clearOpenSslErrors();  // EVP_PKEY_eq queues an error for keys of different types
  return same;
}

}  // namespace weft::common::identity
