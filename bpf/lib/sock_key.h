/* sock_key.h: a socket's own 4-tuple (struct weft_sock_key) from a sock_ops or sk_msg
 * context; both carry the same address fields, so one macro serves both and the keys the
 * two programs compute for one socket are identical. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>

#include "lib/addr.h"

/* Reads a context field right here: without the barrier clang merges the IPv4 and IPv6
 * branches into one load through a computed ctx pointer, which the verifier rejects. */
#define WEFT_CTX(field)               \
  ({                                  \
    __u32 weft_v_ = (field);          \
    asm volatile("" : "+r"(weft_v_)); \
    weft_v_;                          \
  })

/* AF_INET6 sockets hold v4-mapped addresses when they talk IPv4, as weft_addr does. */
#define WEFT_SOCK_KEY_OF(ctx, key)                                                   \
  do {                                                                               \
    if ((ctx)->family == WEFT_AF_INET) {                                             \
      weft_addr_from_v4(&(key)->local_ip, WEFT_CTX((ctx)->local_ip4));               \
      weft_addr_from_v4(&(key)->remote_ip, WEFT_CTX((ctx)->remote_ip4));             \
    } else {                                                                         \
      (key)->local_ip.words[0] = WEFT_CTX((ctx)->local_ip6[0]);                      \
      (key)->local_ip.words[1] = WEFT_CTX((ctx)->local_ip6[1]);                      \
      (key)->local_ip.words[2] = WEFT_CTX((ctx)->local_ip6[2]);                      \
      (key)->local_ip.words[3] = WEFT_CTX((ctx)->local_ip6[3]);                      \
      (key)->remote_ip.words[0] = WEFT_CTX((ctx)->remote_ip6[0]);                    \
      (key)->remote_ip.words[1] = WEFT_CTX((ctx)->remote_ip6[1]);                    \
      (key)->remote_ip.words[2] = WEFT_CTX((ctx)->remote_ip6[2]);                    \
      (key)->remote_ip.words[3] = WEFT_CTX((ctx)->remote_ip6[3]);                    \
    }                                                                                \
    (key)->local_port = (__u16)WEFT_CTX((ctx)->local_port); /* host order already */ \
    /* network order, in the upper half of the field */                              \
    (key)->remote_port = (__u16)bpf_ntohl(WEFT_CTX((ctx)->remote_port));             \
  } while (0)
