#pragma once

// Checks that the machine can host the data plane before anything is loaded. Each failure
// is one line that says what is wrong and what to do about it.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::agent::capture {

// Loading BPF and attaching to cgroups needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN).
absl::Status checkRoot();

// `bpffs_root` (or its nearest existing ancestor) must be on a mounted bpffs.
absl::Status checkBpffs(const std::string& bpffs_root);

// `cgroup_root` must exist, be a cgroup v2 directory, and not be the hierarchy's root
// (weft never attaches to the whole machine). Returns its cgroup id.
absl::StatusOr<uint64_t> checkCgroupRoot(const std::string& cgroup_root);

// CO-RE relocations need the kernel's BTF.
absl::Status checkKernelBtf();

}  // namespace weft::agent::capture
