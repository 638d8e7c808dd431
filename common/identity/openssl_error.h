#pragma once

// OpenSSL reports failures on a thread-local error queue; these turn it into a Status so the
// reason reaches the caller, and empty it so the next call starts clean.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace weft::common::identity {

// A status with code `code` and message "<what>: <queued OpenSSL reasons>" (or just `what`
// when the queue is empty). Clears the queue.
absl::Status openSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInternal);

// Drops whatever is queued, e.g. the expected "no more PEM blocks" at the end of a file.
void clearOpenSslErrors();

}  // namespace weft::common::identity
