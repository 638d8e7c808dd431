#pragma once

// Who signs the agent's CSRs: the operator's CertificateService in production
// (operator_csr_signer.h), a fake in tests that must make signing fail.

#include <string>

#include "absl/status/statusor.h"
#include "common/identity/spiffe_id.h"
#include "weft/v1alpha1/certificate_service.pb.h"

namespace weft::agent::identity {

class CsrSigner {
 public:
  virtual ~CsrSigner() = default;

  // The certificate chain and trust bundle for `csr_pem`, a CSR for `id`; or why not (the
  // operator's refusal, an unreachable operator). Blocks; called from one thread at a time.
  virtual absl::StatusOr<api::v1alpha1::SignResponse> sign(const common::identity::SpiffeId& id,
                                                           const std::string& csr_pem) = 0;
  // Ends a sign() in progress and makes later ones fail at once: the agent is stopping.
  virtual void cancel() {}
};

}  // namespace weft::agent::identity
