#pragma once

// Pure parts of the cgroup v2 helpers declared in capture.h, exposed for unit tests.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft::agent::capture {

// The first cgroup2 mount point in `proc_mounts` (the text of /proc/mounts), with the
// kernel's octal escapes (\040 for a space, ...) decoded.
absl::StatusOr<std::string> parseCgroup2Mount(absl::string_view proc_mounts);

// The directory names kubelet gives pod `uid`'s cgroup: cgroupfs driver "pod<uid>",
// systemd driver "kubepods[-<qos>]-pod<uid with '-' as '_'>.slice".
bool isPodCgroupName(absl::string_view name, absl::string_view uid);

}  // namespace weft::agent::capture
