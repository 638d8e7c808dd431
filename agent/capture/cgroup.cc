#include "agent/capture/cgroup.h"

#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "agent/capture/capture.h"

namespace weft::agent::capture {
namespace {

// Kubelet puts pod cgroups at most three levels below the kubepods root
// (kubepods/<qos>/pod<uid>, kubepods.slice/kubepods-<qos>.slice/...pod<uid>.slice).
constexpr int kMaxPodSearchDepth = 3;

// /proc/mounts escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const char a = field[i + 1], b = field[i + 2], c = field[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out.push_back(static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// A pod UID is a UUID; anything else (a path separator, "..") must not reach a path.
bool isPlausibleUid(absl::string_view uid) {
  if (uid.empty() || uid.size() > 64) {
    return false;
  }
  for (char c : uid) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> parseCgroup2Mount(absl::string_view proc_mounts) {
  for (absl::string_view line : absl::StrSplit(proc_mounts, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() >= 3 && fields[2] == "cgroup2") {
      return unescapeMountField(fields[1]);
    }
  }
  return absl::FailedPreconditionError(
      "no cgroup v2 hierarchy is mounted (none in /proc/mounts); mount one with "
      "`mount -t cgroup2 none /sys/fs/cgroup` (or /sys/fs/cgroup/unified on a hybrid host)");
}

bool isPodCgroupName(absl::string_view name, absl::string_view uid) {
  if (name == absl::StrCat("pod", uid)) {
    return true;
  }
  const std::string systemd_uid = absl::StrReplaceAll(uid, {{"-", "_"}});
  return absl::StartsWith(name, "kubepods") &&
         absl::EndsWith(name, absl::StrCat("-pod", systemd_uid, ".slice"));
}

absl::StatusOr<std::string> findCgroup2Mount() {
  std::ifstream in("/proc/mounts");
  if (!in) {
    return absl::UnavailableError("cannot read /proc/mounts");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseCgroup2Mount(text.str());
}

absl::StatusOr<uint64_t> cgroupId(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "cgroup ", path, ": ", std::error_code(errno, std::generic_category()).message()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("cgroup ", path, " is not a directory"));
  }
  // On cgroup v2 the cgroup id the kernel reports to BPF is the directory's inode number.
  return static_cast<uint64_t>(st.st_ino);
}

absl::StatusOr<std::string> findPodCgroup(const std::string& root, const std::string& uid) {
  if (!isPlausibleUid(uid)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", uid, "\" is not a pod UID"));
  }
  namespace fs = std::filesystem;
  // Breadth-first, so the shallowest match wins and the search stays bounded.
  std::deque<std::pair<fs::path, int>> pending{{fs::path(root), 0}};
  while (!pending.empty()) {
    auto [dir, depth] = pending.front();
    pending.pop_front();
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_directory(ec) || entry.is_symlink(ec)) {
        continue;
      }
      const std::string name = entry.path().filename().string();
      if (isPodCgroupName(name, uid)) {
        return entry.path().string();
      }
      if (depth + 1 < kMaxPodSearchDepth) {
        pending.emplace_back(entry.path(), depth + 1);
      }
    }
    if (ec && depth == 0) {
      return absl::NotFoundError(
          absl::StrCat("cannot list cgroup root ", root, ": ", ec.message()));
    }
  }
  return absl::NotFoundError(absl::StrCat("no cgroup for pod ", uid, " below ", root,
                                          " (looked for pod", uid, " and kubepods-*-pod",
                                          absl::StrReplaceAll(uid, {{"-", "_"}}), ".slice)"));
}

}  // namespace weft::agent::capture
