/* splice.bpf.c (sk_skb/stream_verdict on weft_splice_sk): bytes received by one socket of
 * a spliced pair go straight to the egress of its peer, kernel to kernel. Per-socket byte
 * counters let the agent prove every byte was handed over before it propagates a FIN. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/stats.h"

char LICENSE[] SEC("license") = "GPL";

SEC("sk_skb/stream_verdict")
int weft_splice(struct __sk_buff* skb) {
  __u64 cookie = bpf_get_socket_cookie(skb);
  struct weft_splice_state* st = bpf_map_lookup_elem(&weft_splice_st, &cookie);
  if (!st) {
    /* The pair is being torn down; a byte dropped here is counted, never misdelivered. */
    weft_count(WEFT_STAT_SPLICE_NO_STATE);
    return SK_DROP;
  }
  __u64 len = skb->len;
  if (bpf_sk_redirect_hash(skb, &weft_splice_sk, &st->peer_cookie, 0) != SK_PASS) {
    __sync_fetch_and_add(&st->bytes_dropped, len);
    weft_count(WEFT_STAT_SPLICE_PEER_GONE);
    return SK_DROP;
  }
  __sync_fetch_and_add(&st->bytes_redirected, len);
  return SK_PASS;
}
