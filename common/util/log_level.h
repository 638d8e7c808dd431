#pragma once

#include <string>

#include "absl/status/status.h"

namespace weft::common {

// Sets spdlog's level from a --log-level value (trace, debug, info, warn, error, off); an
// unknown name is an error naming the flag.
absl::Status setLogLevel(const std::string& name);

}  // namespace weft::common
