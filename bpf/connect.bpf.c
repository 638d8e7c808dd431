/* connect.bpf.c (cgroup/connect4, cgroup/connect6): a TCP connect from an enrolled pod to a
 * captured service VIP:port is rewritten to the agent's capture address and outbound port;
 * the original destination and the pod's cgroup are recorded under the socket cookie.
 * Anything else passes untouched. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/addr.h"
#include "lib/cgroup.h"
#include "lib/maps.h"
#include "lib/object_id.h"
#include "lib/stats.h"
#include "lib/tunables.h"

char LICENSE[] SEC("license") = "GPL";

/* Records the capture for this socket; returns 0 when the connect must be redirected. */
static __always_inline int weft_record(struct bpf_sock_addr* ctx,
                                       const struct weft_service_key* vip) {
  const struct weft_service_value* service = bpf_map_lookup_elem(&weft_services, vip);
  if (!service) {
    return -1;
  }
  __u64 pod = weft_enrolled_pod_cgroup();
  if (pod == 0) {
    return -1;
  }
  struct weft_socket record = {};
  record.orig.ip = vip->ip;
  record.orig.port = vip->port;
  record.orig.flags = service->flags;
  record.orig.cgroup_id = pod;
  __u64 cookie = bpf_get_socket_cookie(ctx);
  if (bpf_map_update_elem(&weft_sockets, &cookie, &record, BPF_ANY) != 0) {
    /* Without a record the agent could not route the connection: leave it alone. */
    weft_count(WEFT_STAT_SOCKETS_UPDATE_FAILED);
    return -1;
  }
  return 0;
}

SEC("cgroup/connect4")
int weft_connect4(struct bpf_sock_addr* ctx) {
  if (!capture_ipv4_enabled || ctx->type != WEFT_SOCK_STREAM) {
    return 1;
  }
  struct weft_service_key vip = {};
  weft_addr_from_v4(&vip.ip, ctx->user_ip4);
  vip.port = bpf_ntohs((__u16)ctx->user_port);
  if (weft_record(ctx, &vip) != 0) {
    return 1;
  }
  ctx->user_ip4 = capture_ipv4;
  ctx->user_port = bpf_htons(outbound_port);
  weft_count(WEFT_STAT_CAPTURED_V4);
  return 1;
}

/* connect6 sees both native IPv6 and v4-mapped destinations of dual-stack sockets (the
 * kernel does not run connect4 for those). */
SEC("cgroup/connect6")
int weft_connect6(struct bpf_sock_addr* ctx) {
  if (ctx->type != WEFT_SOCK_STREAM) {
    return 1;
  }
  struct weft_service_key vip = {};
  vip.ip.words[0] = ctx->user_ip6[0];
  vip.ip.words[1] = ctx->user_ip6[1];
  vip.ip.words[2] = ctx->user_ip6[2];
  vip.ip.words[3] = ctx->user_ip6[3];
  vip.port = bpf_ntohs((__u16)ctx->user_port);
  int mapped = weft_addr_is_v4_mapped(&vip.ip);
  if (mapped ? !capture_ipv4_enabled : !capture_ipv6_enabled) {
    if (bpf_map_lookup_elem(&weft_services, &vip)) {
      weft_count(WEFT_STAT_NO_CAPTURE_ADDRESS);
    }
    return 1;
  }
  if (weft_record(ctx, &vip) != 0) {
    return 1;
  }
  if (mapped) {
    ctx->user_ip6[0] = 0;
    ctx->user_ip6[1] = 0;
    ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
    ctx->user_ip6[3] = capture_ipv4;
    weft_count(WEFT_STAT_CAPTURED_V4_MAPPED);
  } else {
    ctx->user_ip6[0] = capture_ipv6[0];
    ctx->user_ip6[1] = capture_ipv6[1];
    ctx->user_ip6[2] = capture_ipv6[2];
    ctx->user_ip6[3] = capture_ipv6[3];
    weft_count(WEFT_STAT_CAPTURED_V6);
  }
  ctx->user_port = bpf_htons(outbound_port);
  return 1;
}
