#include "operator/identity/certificate_service.h"

#include "absl/time/clock.h"
#include "operator/distribute/call_auth.h"
#include "spdlog/spdlog.h"

namespace weft::op {

namespace {

const char* resultOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "signed";
    case absl::StatusCode::kPermissionDenied:
      return "denied";
    case absl::StatusCode::kInvalidArgument:
      return "invalid";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    default:
      return "error";
  }
}

}  // namespace

grpc::ServerUnaryReactor* CertificateService::Sign(grpc::CallbackServerContext* context,
                                                   const api::v1alpha1::SignRequest* request,
                                                   api::v1alpha1::SignResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status;
  absl::StatusOr<std::string> node = authenticateNode(*context, tokens_);
  if (!node.ok()) {
    status = node.status();
    spdlog::warn("certificate request from {} refused: {}", context->peer(),
                 std::string(status.message()));
  } else if (auto signed_ = signer_.sign(*node, *request, absl::Now()); signed_.ok()) {
    *response = std::move(signed_->response);
    spdlog::info("signed {} for node {} (valid {})", signed_->spiffe_id, *node,
                 absl::FormatDuration(signer_.lifetime()));
  } else {
    status = signed_.status();
    spdlog::warn("certificate request of node {} refused: {}", *node,
                 std::string(status.message()));
  }
  metrics_.countCertificate(resultOf(status.code()));
  reactor->Finish(toGrpcStatus(status));
  return reactor;
}

}  // namespace weft::op
