/* cgroup.h: which enrolled pod (if any) the current task belongs to. */
#pragma once

#include "lib/maps.h"

/* Pods run in child cgroups of their pod-level cgroup (.../pod<uid>/<container>), and the
 * agent enrols the pod-level directory, so walk the current task's ancestors from the top
 * and return the first one that is enrolled; 0 when none is. */
static __always_inline __u64 weft_enrolled_pod_cgroup(void) {
  for (int level = 1; level <= WEFT_MAX_CGROUP_DEPTH; level++) {
    __u64 id = bpf_get_current_ancestor_cgroup_id(level);
    if (id == 0) {
      break; /* deeper than the task's own cgroup */
    }
    if (bpf_map_lookup_elem(&weft_enrolled, &id)) {
      return id;
    }
  }
  return 0;
}
