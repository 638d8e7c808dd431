#include "agent/capture/preflight.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/capture/capture.h"
#include "common/util/status_macros.h"

namespace weft::agent::capture {
namespace {

std::string errnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// The cgroup v2 root directory has inode 1 (kernfs numbers its root first).
constexpr ino_t kCgroup2RootInode = 1;

}  // namespace

absl::Status checkRoot() {
  if (geteuid() != 0) {
    return absl::PermissionDeniedError(
        "weft-agent must run as root: it loads eBPF programs and attaches them to cgroups");
  }
  return absl::OkStatus();
}

absl::Status checkBpffs(const std::string& bpffs_root) {
  namespace fs = std::filesystem;
  if (bpffs_root.empty() || bpffs_root[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("--bpffs-root must be an absolute path, got \"", bpffs_root, "\""));
  }
  fs::path existing(bpffs_root);
  std::error_code ec;
  while (!fs::exists(existing, ec) && existing.has_parent_path() &&
         existing != existing.parent_path()) {
    existing = existing.parent_path();
  }
  struct statfs sfs;
  if (statfs(existing.c_str(), &sfs) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot inspect ", existing.string(), ": ", errnoText(errno)));
  }
  if (sfs.f_type != BPF_FS_MAGIC) {
    const std::string mount_at =
        absl::StartsWith(bpffs_root, "/sys/fs/bpf") ? "/sys/fs/bpf" : existing.string();
    return absl::FailedPreconditionError(
        absl::StrCat("bpffs is not mounted at ", mount_at, " (needed for --bpffs-root=", bpffs_root,
                     "); mount it with `mount -t bpf bpf ", mount_at, "`"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> checkCgroupRoot(const std::string& cgroup_root) {
  struct stat st;
  if (stat(cgroup_root.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("--cgroup-root ", cgroup_root, " does not exist (", errnoText(errno), ")"));
  }
  struct statfs sfs;
  if (statfs(cgroup_root.c_str(), &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
    absl::StatusOr<std::string> mount = findCgroup2Mount();
    if (!mount.ok()) {
      return mount.status();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("--cgroup-root ", cgroup_root,
                     " is not a cgroup v2 directory (cgroup v2 is mounted at ", *mount, ")"));
  }
  if (st.st_ino == kCgroup2RootInode) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cgroup-root ", cgroup_root,
        " is the root of the cgroup v2 hierarchy; weft attaches only below it: give the "
        "directory holding the node's pods (the kubepods cgroup)"));
  }
  return static_cast<uint64_t>(st.st_ino);
}

absl::Status checkKernelBtf() {
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    return absl::FailedPreconditionError(
        "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing); weft needs a kernel "
        "built with CONFIG_DEBUG_INFO_BTF=y");
  }
  return absl::OkStatus();
}

}  // namespace weft::agent::capture
