#include "test/common/identity/test_pki.h"

#include <openssl/x509v3.h>

#include "absl/strings/escaping.h"

namespace weft::common::identity::testing {

std::string rawCsrPem(EVP_PKEY* key, const std::vector<std::pair<int, std::string>>& sans) {
  X509ReqPtr request(X509_REQ_new());
  REQUIRE(X509_REQ_set_pubkey(request.get(), key) == 1);
  GeneralNamesPtr names(GENERAL_NAMES_new());
  for (const auto& [type, value] : sans) {
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    REQUIRE(ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) == 1);
    GENERAL_NAME_set0_value(name, type, text);
    sk_GENERAL_NAME_push(names.get(), name);
  }
  if (!sans.empty()) {
    X509ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(extensions.get(), X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
    REQUIRE(X509_REQ_add_extensions(request.get(), extensions.get()) == 1);
  }
  REQUIRE(X509_REQ_sign(request.get(), key, EVP_sha256()) > 0);
  return take(requestToPem(request.get()));
}

Requester requester(const std::string& spiffe_id) {
  EvpPkeyPtr key = take(generateP256Key());
  CertificateRequest csr = take(parseCsrPem(take(buildCsrPem(id(spiffe_id), key.get()))));
  return Requester{std::move(key), std::move(csr)};
}

IssuedCertificate issue(const CertificateAuthority& ca, const std::string& spiffe_id,
                        absl::Time now, absl::Duration lifetime) {
  return take(ca.sign(requester(spiffe_id).csr, lifetime, now));
}

std::string toPem(X509* cert) {
  return take(certificateToPem(cert));
}

std::string derToPem(const std::string& name, const std::string& der) {
  const std::string base64 = absl::Base64Escape(der);
  std::string pem = "-----BEGIN " + name + "-----\n";
  for (size_t i = 0; i < base64.size(); i += 64) {
    pem += base64.substr(i, 64) + "\n";
  }
  return pem + "-----END " + name + "-----\n";
}

}  // namespace weft::common::identity::testing
