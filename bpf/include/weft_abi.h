/* weft_abi.h: the one definition of everything the kernel and the agent exchange
 * (map keys and values, ring-buffer events, counter reason codes, pin names).
 * Included by the BPF programs (clang -target bpf) and by agent/capture (C++), which
 * static_asserts the sizes. Every struct is padded by hand so both compilers agree and
 * hash keys have no uninitialised holes.
 *
 * Conventions: addresses are 16 bytes, IPv4 kept v4-mapped (::ffff:a.b.c.d) exactly like
 * weft::common::IpAddress; ports are in HOST byte order.
 */
#pragma once

#include <linux/types.h>

#define WEFT_ABI_VERSION 1

/* How deep below the cgroup v2 root an enrolled pod cgroup may sit. */
#define WEFT_MAX_CGROUP_DEPTH 16

/* Map sizes. LRU maps evict the oldest entry when full instead of failing. */
#define WEFT_MAX_ENROLLED 4096
#define WEFT_MAX_SERVICES 16384
#define WEFT_MAX_SOCKETS 65536
#define WEFT_MAX_SPLICED 65536
#define WEFT_EVENTS_BYTES (256 * 1024)

/* Pin names under --bpffs-root (maps pin by their name; links under WEFT_LINKS_DIR). */
#define WEFT_MAP_ENROLLED "weft_enrolled"
#define WEFT_MAP_SERVICES "weft_services"
#define WEFT_MAP_SOCKETS "weft_sockets"
#define WEFT_MAP_TUPLES "weft_tuples"
#define WEFT_MAP_EVENTS "weft_events"
#define WEFT_MAP_STATS "weft_stats"
#define WEFT_MAP_SPLICE_SOCKS "weft_splice_sk"
#define WEFT_MAP_SPLICE_STATE "weft_splice_st"
#define WEFT_LINKS_DIR "links"

/* An IPv6 address, or an IPv4 address v4-mapped. words[] are in network byte order. */
struct weft_addr {
  union {
    __u8 bytes[16];
    __u32 words[4];
  };
};

/* weft_services key: a captured service VIP:port (TCP). */
struct weft_service_key {
  struct weft_addr ip;
  __u16 port;
  __u16 pad0;
};

/* weft_services value. */
struct weft_service_value {
  __u32 flags; /* reserved, 0 */
};

/* Where a captured connection was really going, and who made it. */
struct weft_orig_dst {
  struct weft_addr ip; /* the VIP the application dialled */
  __u16 port;
  __u16 pad0;
  __u32 pad1;
  __u64 cgroup_id; /* enrolled pod-level cgroup of the connecting process */
};

/* weft_sockets value: one captured socket, keyed by socket cookie, alive until close. */
struct weft_socket {
  struct weft_orig_dst orig;
  __u64 established_ns; /* bpf_ktime_get_ns() at active-established, 0 before */
  __u64 acked_base;     /* bytes_acked at established (the SYN), subtracted on close */
  /* live telemetry, refreshed on every state change */
  __u64 bytes_sent;
  __u64 bytes_received;
  __u32 srtt_us;
  __u32 retransmits;
};

/* weft_tuples key: the captured connection as the agent sees it after accept(). */
struct weft_tuple {
  struct weft_addr client_ip; /* the pod socket's address (accept's peer) */
  struct weft_addr agent_ip;  /* the capture address (accepted socket's local) */
  __u16 client_port;
  __u16 agent_port;
  __u32 pad0;
};

/* weft_events record, emitted when a captured connection closes. */
struct weft_close_event {
  __u64 cookie;
  __u64 cgroup_id;
  struct weft_addr orig_ip;
  __u16 orig_port;
  __u16 pad0;
  __u32 srtt_us;
  __u32 retransmits;
  __u32 pad1;
  __u64 bytes_sent;     /* payload bytes the pod sent and the peer acknowledged */
  __u64 bytes_received; /* payload bytes the pod's socket received */
  __u64 duration_ns;    /* established -> closed */
};

/* weft_splice_st value, keyed by the cookie of a socket in weft_splice_sk. */
struct weft_splice_state {
  __u64 peer_cookie;      /* where this socket's received bytes go */
  __u64 bytes_redirected; /* handed to bpf_sk_redirect_hash toward the peer */
  __u64 bytes_dropped;    /* dropped because the peer was gone (a broken splice) */
};

/* Reason codes of weft_stats (per-CPU counters). Anomalies say why something was not done. */
#define WEFT_STATS(X)                                                                       \
  X(CAPTURED_V4, "captured_v4")                     /* connect4 rewritten to the agent */   \
  X(CAPTURED_V6, "captured_v6")                     /* connect6 rewritten to the agent */   \
  X(CAPTURED_V4_MAPPED, "captured_v4_mapped")       /* connect6 to a v4-mapped VIP */       \
  X(NO_CAPTURE_ADDRESS, "no_capture_address")       /* VIP of a family the agent lacks */   \
  X(SOCKETS_UPDATE_FAILED, "sockets_update_failed") /* record not stored: not captured */   \
  X(TUPLES_UPDATE_FAILED, "tuples_update_failed")   /* agent cannot find orig dst */        \
  X(CB_FLAGS_FAILED, "cb_flags_failed")             /* no close event for this socket */    \
  X(EVENTS_RINGBUF_FULL, "events_ringbuf_full")     /* close event lost */                  \
  X(PEERNAME_RESTORED, "peername_restored")         /* getpeername answered with the VIP */ \
  X(SPLICE_NO_STATE, "splice_no_state")             /* spliced socket without a peer */     \
  X(SPLICE_PEER_GONE, "splice_peer_gone")           /* redirect target not in the sockhash */

/* clang-format off */
enum weft_stat {
#define WEFT_STAT_ENUM_(name, text) WEFT_STAT_##name,
  WEFT_STATS(WEFT_STAT_ENUM_)
#undef WEFT_STAT_ENUM_
  WEFT_STAT_MAX
};
/* clang-format on */

#ifndef __cplusplus
/* The same sizes agent/capture/abi.h asserts for the C++ side: both compilers must agree. */
_Static_assert(sizeof(struct weft_addr) == 16, "weft_addr");
_Static_assert(sizeof(struct weft_service_key) == 20, "weft_service_key");
_Static_assert(sizeof(struct weft_orig_dst) == 32, "weft_orig_dst");
_Static_assert(sizeof(struct weft_socket) == 72, "weft_socket");
_Static_assert(sizeof(struct weft_tuple) == 40, "weft_tuple");
_Static_assert(sizeof(struct weft_close_event) == 72, "weft_close_event");
_Static_assert(sizeof(struct weft_splice_state) == 24, "weft_splice_state");
#endif
