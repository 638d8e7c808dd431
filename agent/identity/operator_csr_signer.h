#pragma once

// CsrSigner over gRPC: CertificateService.Sign on the operator's server (15012), dialled and
// authenticated like the config stream (config/operator_channel.h).

#include <chrono>
#include <mutex>

#include "agent/config/operator_channel.h"
#include "agent/identity/csr_signer.h"

namespace weft::agent::identity {

class OperatorCsrSigner final : public CsrSigner {
 public:
  explicit OperatorCsrSigner(config::OperatorEndpoint endpoint,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : endpoint_(std::move(endpoint)), timeout_(timeout) {}

  absl::StatusOr<api::v1alpha1::SignResponse> sign(const common::identity::SpiffeId& id,
                                                   const std::string& csr_pem) override;
  void cancel() override;

 private:
  const config::OperatorEndpoint endpoint_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  grpc::ClientContext* call_ = nullptr;  // the call in progress, to cancel it
  bool cancelled_ = false;
};

}  // namespace weft::agent::identity
