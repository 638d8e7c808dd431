#include "agent/policy/peer_authentication.h"

#include <optional>

namespace weft::agent::policy {
namespace {

namespace api = ::weft::api::v1alpha1;

std::optional<MtlsMode> modeOf(api::MtlsMode mode) {
  switch (mode) {
    case api::STRICT:
      return MtlsMode::kStrict;
    case api::PERMISSIVE:
      return MtlsMode::kPermissive;
    case api::DISABLE:
      return MtlsMode::kDisable;
    default:
      return std::nullopt;  // unspecified: inherit
  }
}

}  // namespace

absl::string_view mtlsModeName(MtlsMode mode) {
  switch (mode) {
    case MtlsMode::kStrict:
      return "STRICT";
    case MtlsMode::kPermissive:
      return "PERMISSIVE";
    case MtlsMode::kDisable:
      return "DISABLE";
  }
  return "UNKNOWN";
}

MtlsMode workloadMtlsMode(const api::Workload& workload) {
  return modeOf(workload.mtls_mode()).value_or(MtlsMode::kPermissive);
}

MtlsMode effectiveMtlsMode(const api::Workload& workload, uint16_t port) {
  if (auto it = workload.port_mtls_modes().find(port); it != workload.port_mtls_modes().end()) {
    if (auto mode = modeOf(it->second)) {
      return *mode;
    }
  }
  return workloadMtlsMode(workload);
}

}  // namespace weft::agent::policy
