/* stats.h: per-CPU reason counters, so every skipped capture or lost event has a why. */
#pragma once

#include "lib/maps.h"

static __always_inline void weft_count(enum weft_stat reason) {
  __u32 key = reason;
  __u64* value = bpf_map_lookup_elem(&weft_stats, &key);
  if (value) {
    *value += 1; /* per-CPU slot: no atomic needed */
  }
}
