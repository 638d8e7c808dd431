#include "common/util/log_level.h"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace weft::common {

absl::Status setLogLevel(const std::string& name) {
  const auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") {
    return absl::InvalidArgumentError(absl::StrCat("--log-level: unknown level \"", name, "\""));
  }
  spdlog::set_level(level);
  return absl::OkStatus();
}

}  // namespace weft::common
