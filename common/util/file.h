#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace weft::common {

// Reads a whole file; the error names the path and the OS reason.
absl::StatusOr<std::string> readFile(const std::string& path);

}  // namespace weft::common
