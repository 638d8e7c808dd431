/* packet.h: the few header fields pod_ingress needs from a packet, read from an skb whose
 * data starts at the IP header (cgroup_skb sees packets at the network layer). Reads go
 * through bpf_skb_load_bytes: cgroup_skb has no guaranteed linear data, and the copies are
 * a few bytes per connection attempt, not per byte. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/addr.h"

#define WEFT_ETH_P_IP 0x0800
#define WEFT_ETH_P_IPV6 0x86DD
#define WEFT_IPPROTO_TCP 6

/* IPv6 extension headers a TCP segment may carry before its header. The kernel has removed
 * a fragment header when it reassembled the packet, before any socket-level program runs. */
#define WEFT_IPV6_HOPOPTS 0
#define WEFT_IPV6_ROUTING 43
#define WEFT_IPV6_FRAGMENT 44
#define WEFT_IPV6_AUTH 51
#define WEFT_IPV6_DSTOPTS 60
/* More than this many is no real traffic; the caller decides what such a packet means. */
#define WEFT_IPV6_MAX_EXT_HEADERS 8

#define WEFT_TCP_FLAG_SYN 0x02
#define WEFT_TCP_FLAG_ACK 0x10

struct weft_packet {
  struct weft_addr src;
  struct weft_addr dst; /* IPv4 v4-mapped, as in every weft map key */
  __u8 is_tcp;
  __u8 tcp_flags;
  __u16 dst_port; /* host byte order; TCP only */
};

enum weft_parse {
  WEFT_PARSE_OK,       /* addresses always; ports and flags when is_tcp */
  WEFT_PARSE_NOT_IP,   /* nothing to look at */
  WEFT_PARSE_TOO_DEEP, /* IPv6 with more extension headers than we follow: addresses only */
};

/* The TCP header's destination port and flags at `offset`. */
static __always_inline int weft_parse_tcp(struct __sk_buff* skb, __u32 offset,
                                          struct weft_packet* p) {
  __u8 tcp[14]; /* source port, destination port, seq, ack, data offset, flags */
  if (bpf_skb_load_bytes(skb, offset, tcp, sizeof(tcp)) != 0) {
    return -1;
  }
  p->is_tcp = 1;
  p->dst_port = ((__u16)tcp[2] << 8) | tcp[3];
  p->tcp_flags = tcp[13];
  return 0;
}

static __always_inline enum weft_parse weft_parse_ipv4(struct __sk_buff* skb,
                                                       struct weft_packet* p) {
  __u8 ip[20];
  if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)) != 0) {
    return WEFT_PARSE_NOT_IP;
  }
  __u32 saddr, daddr;
  __builtin_memcpy(&saddr, &ip[12], 4);
  __builtin_memcpy(&daddr, &ip[16], 4);
  weft_addr_from_v4(&p->src, saddr);
  weft_addr_from_v4(&p->dst, daddr);
  if (ip[9] == WEFT_IPPROTO_TCP) {
    weft_parse_tcp(skb, (ip[0] & 0x0f) * 4, p); /* IHL counts options too */
  }
  return WEFT_PARSE_OK;
}

static __always_inline int weft_ipv6_is_extension(__u8 next) {
  return next == WEFT_IPV6_HOPOPTS || next == WEFT_IPV6_ROUTING || next == WEFT_IPV6_FRAGMENT ||
         next == WEFT_IPV6_AUTH || next == WEFT_IPV6_DSTOPTS;
}

static __always_inline enum weft_parse weft_parse_ipv6(struct __sk_buff* skb,
                                                       struct weft_packet* p) {
  __u8 ip[40];
  if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)) != 0) {
    return WEFT_PARSE_NOT_IP;
  }
  __builtin_memcpy(p->src.bytes, &ip[8], 16);
  __builtin_memcpy(p->dst.bytes, &ip[24], 16);
  __u8 next = ip[6];
  __u32 offset = sizeof(ip);
  /* A SYN behind extension headers is still a SYN to the kernel: follow them. */
  for (int i = 0; i < WEFT_IPV6_MAX_EXT_HEADERS && weft_ipv6_is_extension(next); i++) {
    __u8 ext[2]; /* next header, length */
    if (bpf_skb_load_bytes(skb, offset, ext, sizeof(ext)) != 0) {
      return WEFT_PARSE_OK; /* truncated: no socket gets it as TCP either */
    }
    if (next == WEFT_IPV6_FRAGMENT) {
      offset += 8;
    } else if (next == WEFT_IPV6_AUTH) {
      offset += ((__u32)ext[1] + 2) * 4;
    } else {
      offset += ((__u32)ext[1] + 1) * 8;
    }
    next = ext[0];
  }
  if (weft_ipv6_is_extension(next)) {
    return WEFT_PARSE_TOO_DEEP;
  }
  if (next == WEFT_IPPROTO_TCP) {
    weft_parse_tcp(skb, offset, p);
  }
  return WEFT_PARSE_OK;
}
