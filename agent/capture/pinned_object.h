#pragma once

// Loads one BPF object of the data plane and attaches its programs, or adopts the programs
// an earlier agent left attached. Each program's link is pinned at
// <links_dir>/<program name>; while the pin exists the program stays attached, whatever
// happens to the agent process.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/capture/scoped_fd.h"

struct bpf_map;
struct bpf_object;
struct bpf_program;

namespace weft::agent::capture {

// What a program attaches to; a pinned link attached elsewhere is never adopted.
struct LinkTarget {
  enum class Kind { kCgroup, kMap };
  Kind kind = Kind::kCgroup;
  uint64_t id = 0;          // cgroup id, or map id (0: the map does not exist yet)
  std::string description;  // for messages: "cgroup /sys/fs/cgroup/..."
};

struct ObjectSpec {
  std::string name;              // for messages
  bpf_object* object = nullptr;  // opened with pin_root_path, tunables set, not loaded
  bpf_map* rodata = nullptr;     // the object's .rodata map (its tunables and object id)
  LinkTarget target;
  // Attaches a loaded program; returns the new link's fd (not yet pinned).
  std::function<absl::StatusOr<ScopedFd>(bpf_program*)> attach;
};

struct LoadedObject {
  std::vector<ScopedFd> links;  // one per program, each pinned
  bool adopted = false;         // programs were already attached; nothing was loaded
};

// Adopts when every program's link is pinned and the pinned program's .rodata equals the
// one this agent would load (same object bytes, same tunables): the object is then loaded
// without programs, just to reuse its pinned maps. Otherwise loads the programs and either
// swaps them into the pinned links atomically (capture never stops) or attaches and pins
// new links. On failure, links pinned by this call are removed again.
absl::StatusOr<LoadedObject> loadOrAdopt(const ObjectSpec& spec, const std::string& links_dir);

// Force-detaches and unpins every link pinned in `links_dir`, then removes the directory.
absl::Status detachPinnedLinks(const std::string& links_dir);

// What a pinned link is attached to, for tests and for the adoption check.
absl::StatusOr<LinkTarget> pinnedLinkTarget(const std::string& pin_path);

}  // namespace weft::agent::capture
