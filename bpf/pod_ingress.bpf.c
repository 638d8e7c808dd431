/* pod_ingress.bpf.c (cgroup_skb/ingress): PeerAuthentication STRICT. A TCP connection
 * attempt (SYN without ACK) to a STRICT pod port is dropped unless it comes from this node's
 * agent (its capture address: the agent reaches local pods from there, after the mTLS
 * tunnel or the outbound capture) or from the pod itself. Everything else passes.
 *
 * Only SYNs are judged: replies to a pod's own outbound connections come from anywhere and
 * carry ACK, established connections were judged at their SYN, and a segment without a
 * connection is answered by a RST anyway. So a pod pays at most two hash lookups per
 * connection attempt and nothing per byte. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/addr.h"
#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/packet.h"
#include "lib/stats.h"
#include "lib/tunables.h"

char LICENSE[] SEC("license") = "GPL";

#define WEFT_PASS 1
#define WEFT_DROP 0

static __always_inline int weft_from_agent(const struct weft_addr* src) {
  if (weft_addr_is_v4_mapped(src)) {
    return capture_ipv4_enabled && src->words[3] == capture_ipv4;
  }
  return capture_ipv6_enabled && src->words[0] == capture_ipv6[0] &&
         src->words[1] == capture_ipv6[1] && src->words[2] == capture_ipv6[2] &&
         src->words[3] == capture_ipv6[3];
}

static __always_inline int weft_same_addr(const struct weft_addr* a, const struct weft_addr* b) {
  return a->words[0] == b->words[0] && a->words[1] == b->words[1] && a->words[2] == b->words[2] &&
         a->words[3] == b->words[3];
}

/* The STRICT entry for `port` of pod `ip`: the port's own, else the pod's default (port 0).
 * NULL when the pod has nothing STRICT. */
static __always_inline const __u8* weft_strict_mode(const struct weft_addr* ip, __u16 port) {
  struct weft_strict_key key = {};
  key.ip = *ip;
  key.port = port;
  const __u8* mode = bpf_map_lookup_elem(&weft_strict, &key);
  if (mode) {
    return mode;
  }
  key.port = 0;
  return bpf_map_lookup_elem(&weft_strict, &key);
}

SEC("cgroup_skb/ingress")
int weft_pod_ingress(struct __sk_buff* skb) {
  struct weft_packet p = {};
  enum weft_parse parsed;
  if (skb->protocol == bpf_htons(WEFT_ETH_P_IP)) {
    parsed = weft_parse_ipv4(skb, &p);
  } else if (skb->protocol == bpf_htons(WEFT_ETH_P_IPV6)) {
    parsed = weft_parse_ipv6(skb, &p);
  } else {
    return WEFT_PASS;
  }
  if (parsed == WEFT_PARSE_NOT_IP) {
    return WEFT_PASS;
  }
  if (parsed == WEFT_PARSE_OK &&
      (!p.is_tcp || (p.tcp_flags & (WEFT_TCP_FLAG_SYN | WEFT_TCP_FLAG_ACK)) != WEFT_TCP_FLAG_SYN)) {
    return WEFT_PASS;
  }
  if (weft_from_agent(&p.src) || weft_same_addr(&p.src, &p.dst)) {
    return WEFT_PASS;
  }
  if (parsed == WEFT_PARSE_TOO_DEEP) {
    /* Its port is out of reach; it may be a SYN: refuse it if anything of the pod is STRICT. */
    struct weft_strict_key pod = {};
    pod.ip = p.dst;
    if (!bpf_map_lookup_elem(&weft_strict, &pod)) {
      return WEFT_PASS;
    }
    weft_count(WEFT_STAT_STRICT_UNPARSED_DROPPED);
    return WEFT_DROP;
  }
  const __u8* mode = weft_strict_mode(&p.dst, p.dst_port);
  if (!mode || *mode != WEFT_STRICT_ENFORCED) {
    return WEFT_PASS;
  }
  weft_count(WEFT_STAT_STRICT_PLAINTEXT_DROPPED);
  return WEFT_DROP;
}
