#include "agent/control/pod_cgroups.h"

#include <algorithm>

#include "spdlog/spdlog.h"

namespace weft::agent::control {

bool PodCgroups::refresh(const config::ConfigSnapshot& snapshot) {
  bool changed = false;
  absl::flat_hash_set<std::string> enrolled;
  absl::flat_hash_set<std::string> unresolved;
  for (const config::WorkloadInfo& w : snapshot.workloads()) {
    if (!w.mesh_enabled) {
      continue;
    }
    enrolled.insert(w.uid);
    if (cgroup_by_uid_.contains(w.uid)) {
      continue;
    }
    auto id = resolver_.podCgroupId(w.uid);
    if (!id.ok()) {
      if (!unresolved_.contains(w.uid)) {
        // Logged once per pod: the cgroup usually shows up a moment later.
        spdlog::info("pod {}/{} ({}): cgroup not found yet: {}", w.namespace_name, w.name, w.uid,
                     std::string(id.status().message()));
      }
      unresolved.insert(w.uid);
      continue;
    }
    spdlog::info("pod {}/{} enrolled (cgroup id {})", w.namespace_name, w.name, *id);
    cgroup_by_uid_[w.uid] = *id;
    uid_by_cgroup_[*id] = w.uid;
    changed = true;
  }
  for (auto it = cgroup_by_uid_.begin(); it != cgroup_by_uid_.end();) {
    if (enrolled.contains(it->first)) {
      ++it;
      continue;
    }
    uid_by_cgroup_.erase(it->second);
    cgroup_by_uid_.erase(it++);
    changed = true;
  }
  unresolved_ = std::move(unresolved);
  return changed;
}

std::vector<uint64_t> PodCgroups::enrolledCgroups() const {
  std::vector<uint64_t> ids;
  ids.reserve(uid_by_cgroup_.size());
  for (const auto& [id, uid] : uid_by_cgroup_) {
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string PodCgroups::uidOf(uint64_t cgroup_id) const {
  auto it = uid_by_cgroup_.find(cgroup_id);
  return it == uid_by_cgroup_.end() ? "" : it->second;
}

}  // namespace weft::agent::control
