/* sk_msg.bpf.c (sk_msg on weft_msg_sk): the same-node fast path. A pod socket's sends go
 * straight into the send queue of the agent socket that relays them to the other pod, so
 * the bytes skip the pod's TCP stream to the agent and the agent's copy through user space.
 *
 * Order is kept by counting: a send is redirected only when the agent has relayed every
 * byte the socket sent through TCP before (weft_msg_pair.forwarded == weft_msg_flow.passed);
 * until then it goes through TCP like any other. Sockets of this map without a flow (the
 * agent's own) always pass. Runs under the sending socket's lock: one send at a time. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/sock_key.h"
#include "lib/stats.h"

char LICENSE[] SEC("license") = "GPL";

SEC("sk_msg")
int weft_msg(struct sk_msg_md* msg) {
  struct weft_sock_key key = {};
  WEFT_SOCK_KEY_OF(msg, &key);
  struct weft_msg_flow* flow = bpf_map_lookup_elem(&weft_msg_flows, &key);
  if (!flow) {
    return SK_PASS;
  }
  __u64 size = msg->size;
  struct weft_msg_pair* pair = bpf_map_lookup_elem(&weft_msg_pairs, &key);
  if (pair && pair->forwarded == flow->passed) {
    struct weft_sock_key target = pair->target;
    if (bpf_msg_redirect_hash(msg, &weft_msg_sk, &target, 0) == SK_PASS) {
      flow->redirected += size;
      weft_count(WEFT_STAT_FAST_PATH_REDIRECTED);
      return SK_PASS;
    }
    /* The agent socket is gone (the connection is ending): TCP to the agent still works. */
    weft_count(WEFT_STAT_FAST_PATH_TARGET_GONE);
  }
  flow->passed += size;
  return SK_PASS;
}
