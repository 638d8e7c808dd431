#pragma once

// The operator's side of CertificateService.Sign, without gRPC: a node's request → a workload
// certificate from the operator's CA, if and only if the CSR is well formed, names exactly the
// identity asked for, in this trust domain, and that identity has a mesh-enabled pod on the
// node in the current snapshot (node authorization). Every refusal says why.

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity/certificate_authority.h"
#include "weft/v1alpha1/certificate_service.pb.h"

namespace weft::op {

// Whether `node` runs a mesh-enabled pod of service account `namespace_name`/`service_account`
// in the current snapshot (ConfigDistributor::runsMeshPodOf); UNAVAILABLE before the first one.
using WorkloadLookup =
    std::function<absl::StatusOr<bool>(const std::string& node, const std::string& namespace_name,
                                       const std::string& service_account)>;

struct SignedCertificate {
  api::v1alpha1::SignResponse response;
  std::string spiffe_id;  // the identity certified, for logs
};

class CertificateSigner {
 public:
  CertificateSigner(const common::identity::CertificateAuthority& ca, WorkloadLookup workloads,
                    absl::Duration lifetime = common::identity::kDefaultSvidLifetime)
      : ca_(ca), workloads_(std::move(workloads)), lifetime_(lifetime) {}

  // The chain and trust bundle for the request, or INVALID_ARGUMENT (not a SPIFFE ID of this
  // trust domain, a bad CSR, a CSR for another identity), PERMISSION_DENIED (no such pod on
  // `node`), UNAVAILABLE (no snapshot yet).
  absl::StatusOr<SignedCertificate> sign(const std::string& node,
                                         const api::v1alpha1::SignRequest& request,
                                         absl::Time now) const;

  absl::Duration lifetime() const { return lifetime_; }

 private:
  const common::identity::CertificateAuthority& ca_;
  WorkloadLookup workloads_;
  absl::Duration lifetime_;
};

}  // namespace weft::op
