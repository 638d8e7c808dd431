#include "common/identity/csr.h"

#include "absl/strings/str_cat.h"
#include "common/identity/cert_builder.h"
#include "common/identity/keys.h"
#include "common/identity/openssl_error.h"
#include "common/identity/pem.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {
namespace {

absl::Status addSanExtension(X509_REQ* request, const SpiffeId& id) {
  ASSIGN_OR_RETURN(GeneralNamesPtr names, uriSubjectAltName(id.toString()));
  X509ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
  // Critical, as RFC 5280 asks when the subject is empty.
  X509_EXTENSION* san = X509V3_EXT_i2d(NID_subject_alt_name, 1, names.get());
  if (extensions == nullptr || san == nullptr ||
      sk_X509_EXTENSION_push(extensions.get(), san) == 0) {
    X509_EXTENSION_free(san);
    return openSslError("building the CSR's subjectAltName extension");
  }
  if (X509_REQ_add_extensions(request, extensions.get()) != 1) {
    return openSslError("adding extensions to the CSR");
  }
  return absl::OkStatus();
}

absl::Status checkIdentity(X509_REQ* request, SpiffeId* id) {
  X509ExtensionStackPtr extensions(X509_REQ_get_extensions(request));
  ASSIGN_OR_RETURN(SubjectAltNames sans, requestSans(extensions.get()));
  if (sans.others > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CSR asks for ", sans.others,
                     " non-URI subjectAltName(s) (DNS, IP, ...); only one SPIFFE URI is allowed"));
  }
  ASSIGN_OR_RETURN(*id, spiffeIdFromSans(sans, "the CSR"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> buildCsrPem(const SpiffeId& id, EVP_PKEY* key) {
  if (!isP256Key(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a CSR key must be EC P-256, got ", describeKey(key)));
  }
  X509ReqPtr request(X509_REQ_new());
  if (request == nullptr || X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(request.get(), key) != 1) {
    return openSslError("building a CSR");
  }
  RETURN_IF_ERROR(addSanExtension(request.get(), id));
  if (X509_REQ_sign(request.get(), key, EVP_sha256()) <= 0) {
    return openSslError("signing the CSR");
  }
  return requestToPem(request.get());
}

absl::StatusOr<CertificateRequest> parseCsrPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(X509ReqPtr request, requestFromPem(pem));
  EvpPkeyPtr key(X509_REQ_get_pubkey(request.get()));
  if (key == nullptr) {
    return openSslError("the CSR's public key is unreadable", absl::StatusCode::kInvalidArgument);
  }
  if (!isP256Key(key.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CSR's key must be EC P-256, got ", describeKey(key.get())));
  }
  // Proof that the requester holds the private key, and that nobody changed the request.
  if (X509_REQ_verify(request.get(), key.get()) != 1) {
    return openSslError("the CSR's signature does not verify", absl::StatusCode::kInvalidArgument);
  }
  SpiffeId id;
  RETURN_IF_ERROR(checkIdentity(request.get(), &id));
  return CertificateRequest{std::move(id), std::move(key)};
}

}  // namespace weft::common::identity
