/* sockops.bpf.c (sockops): follows captured client sockets. On connect it asks for state
 * callbacks; on active-established it publishes orig dst under the 4-tuple the agent sees
 * after accept(); on close it emits a telemetry event and forgets the socket. Sockets that
 * connect did not capture cost one map lookup at connect time and nothing after. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/addr.h"
#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/stats.h"
#include "lib/tcp.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline struct weft_socket* weft_socket_of(struct bpf_sock_ops* skops,
                                                          __u64* cookie) {
  *cookie = bpf_get_socket_cookie(skops);
  return bpf_map_lookup_elem(&weft_sockets, cookie);
}

/* Reads a sock_ops context field right here: without the barrier clang merges the IPv4 and
 * IPv6 branches into one load through a computed ctx pointer, which the verifier rejects. */
#define WEFT_CTX(field)               \
  ({                                  \
    __u32 weft_v_ = (field);          \
    asm volatile("" : "+r"(weft_v_)); \
    weft_v_;                          \
  })

/* The connection as the agent's accepted socket sees it: client = this socket's local end. */
static __always_inline void weft_tuple_of(struct bpf_sock_ops* skops, struct weft_tuple* t) {
  if (skops->family == WEFT_AF_INET) {
    weft_addr_from_v4(&t->client_ip, WEFT_CTX(skops->local_ip4));
    weft_addr_from_v4(&t->agent_ip, WEFT_CTX(skops->remote_ip4));
  } else {
    /* AF_INET6 sockets hold v4-mapped addresses when they connected to IPv4. */
    t->client_ip.words[0] = WEFT_CTX(skops->local_ip6[0]);
    t->client_ip.words[1] = WEFT_CTX(skops->local_ip6[1]);
    t->client_ip.words[2] = WEFT_CTX(skops->local_ip6[2]);
    t->client_ip.words[3] = WEFT_CTX(skops->local_ip6[3]);
    t->agent_ip.words[0] = WEFT_CTX(skops->remote_ip6[0]);
    t->agent_ip.words[1] = WEFT_CTX(skops->remote_ip6[1]);
    t->agent_ip.words[2] = WEFT_CTX(skops->remote_ip6[2]);
    t->agent_ip.words[3] = WEFT_CTX(skops->remote_ip6[3]);
  }
  t->client_port = (__u16)WEFT_CTX(skops->local_port);            /* host order already */
  t->agent_port = (__u16)bpf_ntohl(WEFT_CTX(skops->remote_port)); /* network order, upper half */
}

static __always_inline void weft_on_connect(struct bpf_sock_ops* skops) {
  __u64 cookie;
  if (!weft_socket_of(skops, &cookie)) {
    return;
  }
  if (bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG) !=
      0) {
    weft_count(WEFT_STAT_CB_FLAGS_FAILED);
  }
}

static __always_inline void weft_on_established(struct bpf_sock_ops* skops) {
  __u64 cookie;
  struct weft_socket* s = weft_socket_of(skops, &cookie);
  if (!s) {
    return;
  }
  s->established_ns = bpf_ktime_get_ns();
  s->acked_base = skops->bytes_acked;
  struct weft_tuple tuple = {};
  weft_tuple_of(skops, &tuple);
  if (bpf_map_update_elem(&weft_tuples, &tuple, &s->orig, BPF_ANY) != 0) {
    weft_count(WEFT_STAT_TUPLES_UPDATE_FAILED);
  }
}

static __always_inline void weft_refresh(struct bpf_sock_ops* skops, struct weft_socket* s) {
  s->bytes_sent = skops->bytes_acked > s->acked_base ? skops->bytes_acked - s->acked_base : 0;
  s->bytes_received = skops->bytes_received;
  s->srtt_us = skops->srtt_us >> 3; /* the kernel keeps srtt scaled by 8 */
  s->retransmits = skops->total_retrans;
}

static __always_inline void weft_emit_close(struct bpf_sock_ops* skops, __u64 cookie,
                                            const struct weft_socket* s, __u32 old_state) {
  struct weft_close_event* e = bpf_ringbuf_reserve(&weft_events, sizeof(*e), 0);
  if (!e) {
    weft_count(WEFT_STAT_EVENTS_RINGBUF_FULL);
    return;
  }
  struct weft_tcp_ends ends = weft_tcp_ends(skops, old_state);
  __builtin_memset(e, 0, sizeof(*e));
  e->cookie = cookie;
  e->cgroup_id = s->orig.cgroup_id;
  e->orig_ip = s->orig.ip;
  e->orig_port = s->orig.port;
  e->srtt_us = s->srtt_us;
  e->retransmits = s->retransmits;
  e->bytes_sent = s->bytes_sent > (__u64)ends.fin_acked ? s->bytes_sent - ends.fin_acked : 0;
  e->bytes_received =
      s->bytes_received > (__u64)ends.fin_received ? s->bytes_received - ends.fin_received : 0;
  e->duration_ns = bpf_ktime_get_ns() - s->established_ns;
  bpf_ringbuf_submit(e, 0);
}

static __always_inline void weft_on_state(struct bpf_sock_ops* skops) {
  __u32 old_state = skops->args[0];
  __u32 new_state = skops->args[1];
  __u64 cookie;
  struct weft_socket* s = weft_socket_of(skops, &cookie);
  if (!s) {
    return;
  }
  if (s->established_ns != 0) {
    weft_refresh(skops, s);
  }
  if (new_state != BPF_TCP_CLOSE) {
    return;
  }
  if (s->established_ns != 0) {
    struct weft_tuple tuple = {};
    weft_tuple_of(skops, &tuple);
    bpf_map_delete_elem(&weft_tuples, &tuple);
    weft_emit_close(skops, cookie, s, old_state);
  }
  bpf_map_delete_elem(&weft_sockets, &cookie);
}

SEC("sockops")
int weft_sockops(struct bpf_sock_ops* skops) {
  switch (skops->op) {
    case BPF_SOCK_OPS_TCP_CONNECT_CB:
      weft_on_connect(skops);
      break;
    case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
      weft_on_established(skops);
      break;
    case BPF_SOCK_OPS_STATE_CB:
      weft_on_state(skops);
      break;
    default:
      break;
  }
  return 1;
}
