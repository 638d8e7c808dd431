/* object_id.h: every weft object carries, in its read-only data, an id the loader derives
 * from the object's bytes and tunables. A restarted agent compares the id of the pinned
 * program with its own to decide between adopting the pins and replacing the programs. */
#pragma once

#include <linux/types.h>

const volatile __u64 weft_object_id = 0;
