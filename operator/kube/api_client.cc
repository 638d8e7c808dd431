#include "operator/kube/api_client.h"

#include "absl/strings/str_cat.h"

namespace weft::op::kube {

namespace {

absl::StatusCode codeFor(int http_status) {
  switch (http_status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    case 410:
      return absl::StatusCode::kOutOfRange;  // gone from the history: list again
    case 429:
      return absl::StatusCode::kResourceExhausted;
    default:
      return http_status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status statusError(absl::string_view what, const ApiStatus& status) {
  return absl::Status(codeFor(status.code), absl::StrCat(what, ": ", describe(status)));
}

absl::Status responseError(const ApiRequest& request, const ApiResponse& response) {
  return statusError(absl::StrCat(request.method, " ", request.path),
                     apiStatusFromBody(response.status, response.body));
}

}  // namespace weft::op::kube
