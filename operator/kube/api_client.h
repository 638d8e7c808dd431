#pragma once

// The seam between weft and the Kubernetes API: one generic request (any method, path and
// JSON body — LIST, status updates, Events, TokenReviews are all this) and one streamed
// request (WATCH). The real implementation is curl_api_client.h; tests use it against the
// fake API server (test/operator/fake_apiserver/).

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "operator/kube/api_messages.h"

namespace weft::op::kube {

struct ApiRequest {
  std::string method = "GET";
  std::string path{};  // path and query: "/api/v1/pods?limit=500"
  std::string body{};  // sent when not empty
  // Of the body. PATCH takes "application/merge-patch+json" or "application/json-patch+json".
  std::string content_type = "application/json";
  absl::Duration timeout = absl::Seconds(60);  // for the whole exchange
};

struct ApiResponse {
  int status = 0;  // HTTP status
  std::string body{};

  bool ok() const { return status >= 200 && status < 300; }
};

class ApiClient {
 public:
  virtual ~ApiClient() = default;

  // Sends `request` and returns the response, whatever its status. An error only when no
  // complete response arrived: connection refused, TLS failure, timeout, shutdown().
  virtual absl::StatusOr<ApiResponse> send(const ApiRequest& request) = 0;

  // Called once the head of the answer has arrived, with its HTTP status.
  using OpenHandler = std::function<void(int status)>;

  // Sends a request whose answer is a stream of lines (a WATCH), handing each line of a 2xx
  // answer to `on_line` as it arrives. Returns when the server ends the stream: the status,
  // and the body when it is not 2xx. An error when the connection breaks, when `on_line`
  // returns one (that error), or on shutdown().
  virtual absl::StatusOr<ApiResponse> stream(const ApiRequest& request, const OpenHandler& on_open,
                                             const LineSplitter::LineHandler& on_line) = 0;

  // Ends every call in progress, and any later one, with a Cancelled error.
  virtual void shutdown() = 0;

  // "https://10.96.0.1:443", for messages.
  virtual const std::string& server() const = 0;
};

// The error for a response that is not 2xx: "GET /api/v1/pods: 403 Forbidden: <message>",
// with a code that matches the HTTP status (403 → PermissionDenied, 410 → OutOfRange, ...).
absl::Status responseError(const ApiRequest& request, const ApiResponse& response);
absl::Status statusError(absl::string_view what, const ApiStatus& status);

}  // namespace weft::op::kube
