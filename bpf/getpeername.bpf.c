/* getpeername.bpf.c (cgroup/getpeername4, cgroup/getpeername6): a captured socket reports
 * the VIP:port its application dialled, not the agent's address. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/addr.h"
#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/stats.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline const struct weft_socket* weft_captured(struct bpf_sock_addr* ctx) {
  __u64 cookie = bpf_get_socket_cookie(ctx);
  return bpf_map_lookup_elem(&weft_sockets, &cookie);
}

SEC("cgroup/getpeername4")
int weft_getpeername4(struct bpf_sock_addr* ctx) {
  const struct weft_socket* s = weft_captured(ctx);
  if (s) {
    ctx->user_ip4 = s->orig.ip.words[3];
    ctx->user_port = bpf_htons(s->orig.port);
    weft_count(WEFT_STAT_PEERNAME_RESTORED);
  }
  return 1;
}

SEC("cgroup/getpeername6")
int weft_getpeername6(struct bpf_sock_addr* ctx) {
  const struct weft_socket* s = weft_captured(ctx);
  if (s) {
    ctx->user_ip6[0] = s->orig.ip.words[0];
    ctx->user_ip6[1] = s->orig.ip.words[1];
    ctx->user_ip6[2] = s->orig.ip.words[2];
    ctx->user_ip6[3] = s->orig.ip.words[3];
    ctx->user_port = bpf_htons(s->orig.port);
    weft_count(WEFT_STAT_PEERNAME_RESTORED);
  }
  return 1;
}
