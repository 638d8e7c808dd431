#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::common {

// Reads a whole file; the error names the path and the OS reason.
absl::StatusOr<std::string> readFile(const std::string& path);

// Writes `content` to a hidden temp file next to `path` (".<name>.tmp"), gives it `mode`,
// then renames it over `path`: a reader sees the old file or the new one, never half of one.
absl::Status writeFileAtomically(const std::string& path, const std::string& content,
                                 unsigned mode = 0644);

}  // namespace weft::common
