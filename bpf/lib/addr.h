/* addr.h: address layout helpers (v4-mapped, byte order) and socket constants that
 * linux/bpf.h does not carry. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft_abi.h"

#define WEFT_AF_INET 2
#define WEFT_AF_INET6 10
#define WEFT_SOCK_STREAM 1

static __always_inline void weft_addr_from_v4(struct weft_addr* out, __u32 ip4_network_order) {
  out->words[0] = 0;
  out->words[1] = 0;
  out->words[2] = bpf_htonl(0x0000ffff);
  out->words[3] = ip4_network_order;
}

static __always_inline int weft_addr_is_v4_mapped(const struct weft_addr* a) {
  return a->words[0] == 0 && a->words[1] == 0 && a->words[2] == bpf_htonl(0x0000ffff);
}

static __always_inline int weft_addr_is_zero(const struct weft_addr* a) {
  return (a->words[0] | a->words[1] | a->words[2] | a->words[3]) == 0;
}
