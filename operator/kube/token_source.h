#pragma once

// The bearer token requests carry. A token file (a projected service account token, which
// the kubelet rotates) is re-read when the copy in hand is older than the reload period, and
// at once after the server refused it (401), so the next request uses the new token.
// Thread-safe: every request of every reflector asks it.

#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft::op::kube {

class TokenSource {
 public:
  using Clock = std::function<absl::Time()>;

  // client-go re-reads token files every minute; projected tokens live an hour or more.
  static constexpr absl::Duration kDefaultReloadPeriod = absl::Minutes(1);

  // `token` is used when `token_file` is empty; both empty: requests carry no token.
  TokenSource(std::string token, std::string token_file,
              absl::Duration reload_period = kDefaultReloadPeriod, Clock clock = absl::Now);

  // The token to send; "" when there is none. An error only when the file has never been
  // read; a file that cannot be read later leaves the last token in use.
  absl::StatusOr<std::string> token();
  // The server refused the token: read the file again before the next request.
  void invalidate();

 private:
  const std::string token_file_;
  const absl::Duration reload_period_;
  const Clock clock_;
  std::mutex mutex_;
  std::string token_;
  bool read_once_ = false;  // token_ came from the file
  bool stale_ = true;       // read the file before the next request
  absl::Time read_at_;
};

}  // namespace weft::op::kube
