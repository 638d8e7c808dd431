#include "common/identity/trust_bundle.h"

#include "absl/strings/str_cat.h"
#include "common/identity/openssl_error.h"
#include "common/identity/pem.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {

absl::StatusOr<TrustBundle> TrustBundle::fromCertificates(const CertChain& roots) {
  if (roots.empty()) {
    return absl::InvalidArgumentError("a trust bundle needs at least one CA certificate");
  }
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
  if (store == nullptr) {
    return openSslError("allocating an X509_STORE");
  }
  for (const X509Ptr& root : roots) {
    if (!isCa(root.get())) {
      return absl::InvalidArgumentError(
          absl::StrCat("trust bundle: certificate ", describeCert(root.get()), " is not a CA"));
    }
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return openSslError("adding a CA certificate to the trust bundle");
    }
  }
  return TrustBundle(std::make_shared<const CertChain>(shareChain(roots)), std::move(store));
}

absl::StatusOr<TrustBundle> TrustBundle::fromPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(CertChain roots, chainFromPem(pem));
  return fromCertificates(roots);
}

absl::StatusOr<std::string> TrustBundle::toPem() const {
  return chainToPem(*roots_);
}

}  // namespace weft::common::identity
