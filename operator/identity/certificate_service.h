#pragma once

// CertificateService.Sign on the operator's gRPC server (api/weft/v1alpha1/
// certificate_service.proto): the node token proves the node, CertificateSigner decides and
// signs. Unary, on gRPC's callback threads; the signer and the tokens are only read.

#include <grpcpp/grpcpp.h>

#include "operator/admin/operator_metrics.h"
#include "operator/distribute/node_tokens.h"
#include "operator/identity/certificate_signer.h"
#include "weft/v1alpha1/certificate_service.grpc.pb.h"

namespace weft::op {

class CertificateService final : public api::v1alpha1::CertificateService::CallbackService {
 public:
  CertificateService(const CertificateSigner& signer, const NodeTokens& tokens,
                     OperatorMetrics& metrics)
      : signer_(signer), tokens_(tokens), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Sign(grpc::CallbackServerContext* context,
                                 const api::v1alpha1::SignRequest* request,
                                 api::v1alpha1::SignResponse* response) override;

 private:
  const CertificateSigner& signer_;
  const NodeTokens& tokens_;
  OperatorMetrics& metrics_;
};

}  // namespace weft::op
