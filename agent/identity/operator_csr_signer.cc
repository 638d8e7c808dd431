#include "agent/identity/operator_csr_signer.h"

#include "absl/strings/str_cat.h"
#include "weft/v1alpha1/certificate_service.grpc.pb.h"

namespace weft::agent::identity {

absl::StatusOr<api::v1alpha1::SignResponse> OperatorCsrSigner::sign(
    const common::identity::SpiffeId& id, const std::string& csr_pem) {
  grpc::ClientContext context;
  config::addNodeToken(context, endpoint_);
  context.set_deadline(std::chrono::system_clock::now() + timeout_);
  {
    std::lock_guard lock(mu_);
    if (cancelled_) {
      return absl::CancelledError("the agent is stopping");
    }
    call_ = &context;
  }
  api::v1alpha1::SignRequest request;
  request.set_spiffe_id(id.toString());
  request.set_csr_pem(csr_pem);
  api::v1alpha1::SignResponse response;
  // A channel per call, as the config stream dials per attempt (operator_channel.h).
  const grpc::Status status =
      api::v1alpha1::CertificateService::NewStub(config::dialOperator(endpoint_))
          ->Sign(&context, request, &response);
  {
    std::lock_guard lock(mu_);
    call_ = nullptr;
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("the operator at ", endpoint_.target, " did not sign ",
                                     id.toString(), ": ", status.error_message()));
  }
  return response;
}

void OperatorCsrSigner::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (call_ != nullptr) {
    call_->TryCancel();
  }
}

}  // namespace weft::agent::identity
