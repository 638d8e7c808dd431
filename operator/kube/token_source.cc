#include "operator/kube/token_source.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "spdlog/spdlog.h"

namespace weft::op::kube {

TokenSource::TokenSource(std::string token, std::string token_file, absl::Duration reload_period,
                         Clock clock)
    : token_file_(std::move(token_file)),
      reload_period_(reload_period),
      clock_(std::move(clock)),
      token_(std::move(token)) {}

absl::StatusOr<std::string> TokenSource::token() {
  std::lock_guard lock(mutex_);
  if (token_file_.empty()) {
    return token_;
  }
  const absl::Time now = clock_();
  if (!stale_ && now - read_at_ < reload_period_) {
    return token_;
  }
  auto text = common::readFile(token_file_);
  if (text.ok() && !absl::StripAsciiWhitespace(*text).empty()) {
    token_ = std::string(absl::StripAsciiWhitespace(*text));
    read_at_ = now;
    read_once_ = true;
    stale_ = false;
    return token_;
  }
  const std::string problem =
      text.ok() ? absl::StrCat(token_file_, " is empty") : std::string(text.status().message());
  if (!read_once_) {
    return absl::FailedPreconditionError(absl::StrCat("bearer token: ", problem));
  }
  // Mid-rotation, or gone for a moment: the last token is the best there is. stale_ stays
  // set, so the next request tries again rather than a period later.
  spdlog::warn("bearer token: {}; using the last one read", problem);
  return token_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  stale_ = true;
}

}  // namespace weft::op::kube
