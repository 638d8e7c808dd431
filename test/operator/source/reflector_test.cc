#include "operator/source/reflector.h"

#include <catch2/catch.hpp>

namespace weft::op {
namespace {

kube::ApiStatus statusOf(int code, const char* reason) {
  return {.code = code, .reason = reason, .message = ""};
}

TEST_CASE("what a reflector does after a watch ends") {
  // 410, in-band (an ERROR event) or as the answer's status: the version is gone, list.
  CHECK(nextStepAfterWatch({.http_status = 200, .error = statusOf(410, "Expired")}) ==
        NextStep::kList);
  CHECK(nextStepAfterWatch({.error = statusOf(0, "Gone")}) == NextStep::kList);
  CHECK(nextStepAfterWatch({.http_status = 410}) == NextStep::kList);
  // Other errors: retry the watch after a backoff.
  CHECK(nextStepAfterWatch({.error = statusOf(500, "InternalError")}) ==
        NextStep::kWatchAfterBackoff);
  CHECK(nextStepAfterWatch({.http_status = 401}) == NextStep::kWatchAfterBackoff);
  CHECK(nextStepAfterWatch({.http_status = 503, .made_progress = true}) ==
        NextStep::kWatchAfterBackoff);
  CHECK(nextStepAfterWatch({.broken = true}) == NextStep::kWatchAfterBackoff);
  CHECK(nextStepAfterWatch({.unreadable = true, .made_progress = true}) ==
        NextStep::kWatchAfterBackoff);
  // Ended by the server, or broken after it worked: resume from the last version, now.
  CHECK(nextStepAfterWatch({.http_status = 200, .made_progress = true}) == NextStep::kWatch);
  CHECK(nextStepAfterWatch({.broken = true, .made_progress = true}) == NextStep::kWatch);
  // Ended at once without a single event: a server closing every watch gets backoff.
  CHECK(nextStepAfterWatch({.http_status = 200}) == NextStep::kWatchAfterBackoff);
}

}  // namespace
}  // namespace weft::op
