/* tcp.h: the few tcp_sock fields sock_ops does not expose, read through BTF (CO-RE), and
 * the TCP states of include/net/tcp_states.h. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* Relocated by libbpf against the running kernel's BTF (the ___flavour suffix is ignored).
 * Linux 6.x keeps sk_flags in sock_common (sk_flags is a #define of __sk_common.skc_flags);
 * older kernels have it in struct sock itself. */
struct sock_common___weft {
  unsigned long skc_flags;
} __attribute__((preserve_access_index));

struct sock___weft {
  struct sock_common___weft __sk_common;
} __attribute__((preserve_access_index));

struct sock___weft_old {
  unsigned long sk_flags;
} __attribute__((preserve_access_index));

struct tcp_sock___weft {
  __u32 write_seq;
} __attribute__((preserve_access_index));

/* enum sock_flags: SOCK_DONE is set when a FIN was received (tcp_fin). */
#define WEFT_SOCK_DONE 1

/* TCP's sequence space counts SYN and FIN as one byte each, and so do bytes_acked and
 * bytes_received; telemetry reports payload, so these say which of them were counted. */
struct weft_tcp_ends {
  int fin_received;
  int fin_acked;
};

static __always_inline struct weft_tcp_ends weft_tcp_ends(struct bpf_sock_ops* skops,
                                                          __u32 old_state) {
  struct weft_tcp_ends ends = {};
  struct bpf_sock* sk = skops->sk;
  if (!sk) {
    return ends;
  }
  struct tcp_sock* tp = bpf_skc_to_tcp_sock(sk);
  if (!tp) {
    return ends;
  }
  unsigned long flags;
  if (bpf_core_field_exists(((struct sock___weft*)0)->__sk_common.skc_flags)) {
    flags = ((struct sock___weft*)tp)->__sk_common.skc_flags;
  } else {
    flags = ((struct sock___weft_old*)tp)->sk_flags;
  }
  ends.fin_received = (flags >> WEFT_SOCK_DONE) & 1;
  __u32 write_seq = ((struct tcp_sock___weft*)tp)->write_seq;
  int fin_queued = old_state == BPF_TCP_FIN_WAIT1 || old_state == BPF_TCP_FIN_WAIT2 ||
                   old_state == BPF_TCP_CLOSING || old_state == BPF_TCP_LAST_ACK;
  /* Our FIN is the last sequence number: acked exactly when snd_una reached write_seq. */
  ends.fin_acked = fin_queued && skops->snd_una == write_seq;
  return ends;
}
