/* sockops.bpf.c (sockops): follows captured client sockets. On connect it asks for state
 * callbacks; on active-established it publishes orig dst under the 4-tuple the agent sees
 * after accept(); on close it emits a telemetry event and forgets the socket. Sockets that
 * connect did not capture cost one map lookup at connect time and nothing after.
 *
 * It also enrols pod sockets in the same-node fast path (sk_msg.bpf.c): a captured socket
 * whose service has an endpoint on this node, and a pod's accepted socket that the agent
 * announced in weft_msg_expect before connecting to it. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/addr.h"
#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/stats.h"
#include "lib/sock_key.h"
#include "lib/tcp.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline struct weft_socket* weft_socket_of(struct bpf_sock_ops* skops,
                                                          __u64* cookie) {
  *cookie = bpf_get_socket_cookie(skops);
  return bpf_map_lookup_elem(&weft_sockets, cookie);
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

/* Puts the socket in weft_msg_sk with an empty flow: sk_msg then sees every byte it sends.
 * A socket that does not fit is simply relayed by the agent. Returns 0 when enrolled. */
static __always_inline int weft_fast_path_enrol(struct bpf_sock_ops* skops,
                                                struct weft_sock_key* key) {
  struct weft_msg_flow flow = {};
  if (bpf_map_update_elem(&weft_msg_flows, key, &flow, BPF_ANY) != 0) {
    weft_count(WEFT_STAT_FAST_PATH_ENROL_FAILED);
    return -1;
  }
  if (bpf_sock_hash_update(skops, &weft_msg_sk, key, BPF_NOEXIST) != 0) {
    bpf_map_delete_elem(&weft_msg_flows, key);
    weft_count(WEFT_STAT_FAST_PATH_ENROL_FAILED);
    return -1;
  }
  weft_count(WEFT_STAT_FAST_PATH_ENROLLED);
  return 0;
}

static __always_inline void weft_on_established(struct bpf_sock_ops* skops) {
  __u64 cookie;
  struct weft_socket* s = weft_socket_of(skops, &cookie);
  if (!s) {
    return;
  }
  s->established_ns = bpf_ktime_get_ns();
  s->acked_base = skops->bytes_acked;
  struct weft_sock_key key = {};
  WEFT_SOCK_KEY_OF(skops, &key);
  if (bpf_map_update_elem(&weft_tuples, &key, &s->orig, BPF_ANY) != 0) {
    weft_count(WEFT_STAT_TUPLES_UPDATE_FAILED);
  }
  if (s->orig.flags & WEFT_SERVICE_FAST_PATH) {
    weft_fast_path_enrol(skops, &key);
  }
}

/* The pod's end of an upstream connection the agent announced joins the fast path. */
static __always_inline void weft_on_passive_established(struct bpf_sock_ops* skops) {
  struct weft_sock_key key = {};
  WEFT_SOCK_KEY_OF(skops, &key);
  struct weft_expect_key expected = {};
  expected.local_ip = key.local_ip;
  expected.local_port = key.local_port;
  expected.remote_port = key.remote_port;
  if (!bpf_map_lookup_elem(&weft_msg_expect, &expected)) {
    return;
  }
  bpf_map_delete_elem(&weft_msg_expect, &expected);
  if (weft_fast_path_enrol(skops, &key) == 0 &&
      bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG) !=
          0) {
    weft_count(WEFT_STAT_CB_FLAGS_FAILED);
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
  struct weft_sock_key key = {};
  if (new_state == BPF_TCP_CLOSE) {
    /* Leaving the sockhash is the kernel's job; the flow is ours. */
    WEFT_SOCK_KEY_OF(skops, &key);
    bpf_map_delete_elem(&weft_msg_flows, &key);
  }
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
    bpf_map_delete_elem(&weft_tuples, &key);
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
    case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
      weft_on_passive_established(skops);
      break;
    case BPF_SOCK_OPS_STATE_CB:
      weft_on_state(skops);
      break;
    default:
      break;
  }
  return 1;
}
