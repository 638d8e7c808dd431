#include "operator/identity/certificate_signer.h"

#include "absl/strings/str_cat.h"
#include "common/identity/csr.h"
#include "common/identity/pem.h"
#include "common/identity/spiffe_id.h"
#include "common/util/status_macros.h"

namespace weft::op {

using common::identity::SpiffeId;

absl::StatusOr<SignedCertificate> CertificateSigner::sign(const std::string& node,
                                                          const api::v1alpha1::SignRequest& request,
                                                          absl::Time now) const {
  absl::StatusOr<SpiffeId> requested = SpiffeId::parse(request.spiffe_id());
  if (!requested.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the requested identity: ", requested.status().message()));
  }
  const std::string id = requested->toString();
  // Checked before the CA would: a request for another trust domain is the agent's mistake
  // (its --trust-domain), not a node asking beyond its rights.
  if (requested->trust_domain != ca_.trustDomain()) {
    return absl::InvalidArgumentError(
        absl::StrCat(id, " is not in this operator's trust domain \"", ca_.trustDomain(), "\""));
  }
  absl::StatusOr<common::identity::CertificateRequest> csr =
      common::identity::parseCsrPem(request.csr_pem());
  if (!csr.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CSR for ", id, " is refused: ", csr.status().message()));
  }
  if (csr->id != *requested) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CSR for ", id, " is refused: it names ", csr->id.toString(), " instead"));
  }
  ASSIGN_OR_RETURN(const bool runs,
                   workloads_(node, requested->namespace_name, requested->service_account));
  if (!runs) {
    return absl::PermissionDeniedError(absl::StrCat(
        "node ", node, " runs no mesh-enabled pod with service account ", requested->namespace_name,
        "/", requested->service_account, ": not signing ", id));
  }
  ASSIGN_OR_RETURN(const common::identity::IssuedCertificate issued,
                   ca_.sign(*csr, lifetime_, now));
  SignedCertificate out;
  out.spiffe_id = id;
  ASSIGN_OR_RETURN(*out.response.mutable_certificate_chain_pem(), issued.chainPem());
  ASSIGN_OR_RETURN(*out.response.mutable_trust_bundle_pem(),
                   common::identity::chainToPem(ca_.trustBundle()));
  return out;
}

}  // namespace weft::op
