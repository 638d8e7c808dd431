#pragma once

// Which pod cgroups are enrolled in the mesh. The kubelet creates a pod's cgroup some time
// after the pod appears in config, so unresolved pods are retried on every refresh.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "agent/config/config_snapshot.h"
#include "agent/control/data_plane.h"

namespace weft::agent::control {

class PodCgroups {
 public:
  explicit PodCgroups(CgroupResolver& resolver) : resolver_(resolver) {}

  // Resolves the mesh-enabled workloads of `snapshot` not resolved yet and forgets the ones
  // no longer enrolled. Returns true when the set of enrolled cgroup ids changed.
  bool refresh(const config::ConfigSnapshot& snapshot);

  // Sorted cgroup ids of the enrolled pods found so far.
  std::vector<uint64_t> enrolledCgroups() const;
  // The pod UID owning `cgroup_id`, or "" when it is not an enrolled pod's.
  std::string uidOf(uint64_t cgroup_id) const;
  // Enrolled pods whose cgroup has not been found (yet).
  size_t unresolved() const { return unresolved_.size(); }

 private:
  CgroupResolver& resolver_;
  absl::flat_hash_map<std::string, uint64_t> cgroup_by_uid_;
  absl::flat_hash_map<uint64_t, std::string> uid_by_cgroup_;
  absl::flat_hash_set<std::string> unresolved_;
};

}  // namespace weft::agent::control
