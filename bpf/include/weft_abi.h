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
#define WEFT_MAX_FAST_PATH 65536 /* sockets in the same-node fast path */
#define WEFT_MAX_STRICT 16384 /* STRICT pods and their port exceptions */
#define WEFT_EVENTS_BYTES (256 * 1024)

/* Pin names under --bpffs-root (maps pin by their name; links under WEFT_LINKS_DIR). */
#define WEFT_MAP_ENROLLED "weft_enrolled"
#define WEFT_MAP_SERVICES "weft_services"
#define WEFT_MAP_SOCKETS "weft_sockets"
#define WEFT_MAP_TUPLES "weft_tuples"
#define WEFT_MAP_EVENTS "weft_events"
#define WEFT_MAP_STATS "weft_stats"
#define WEFT_MAP_MSG_SOCKS "weft_msg_sk"
#define WEFT_MAP_MSG_FLOWS "weft_msg_flows"
#define WEFT_MAP_MSG_PAIRS "weft_msg_pairs"
#define WEFT_MAP_MSG_EXPECT "weft_msg_expect"
#define WEFT_MAP_STRICT "weft_strict"
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
  __u32 flags; /* WEFT_SERVICE_* */
};

/* An endpoint of the service runs on this node and the agent relays connections to it
 * through the same-node fast path: sockops enrols the client's socket in weft_msg_sk. */
#define WEFT_SERVICE_FAST_PATH 1u

/* Where a captured connection was really going, and who made it. */
struct weft_orig_dst {
  struct weft_addr ip; /* the VIP the application dialled */
  __u16 port;
  __u16 pad0;
  __u32 flags;     /* the service's WEFT_SERVICE_* flags at connect time */
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

/* A TCP socket by its 4-tuple, seen from the socket itself. Keys weft_tuples (the pod's
 * captured socket: local = the pod, remote = the agent's capture address, which is how the
 * agent finds it from accept()'s peer and local addresses) and the fast-path maps. */
struct weft_sock_key {
  struct weft_addr local_ip;
  struct weft_addr remote_ip;
  __u16 local_port;
  __u16 remote_port;
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

/* Same-node fast path. A pod socket enrolled in weft_msg_sk ("sender") has a flow; once the
 * agent pairs it with the agent socket that relays its bytes ("target"), the sk_msg program
 * moves what the sender writes straight into the target's send queue, provided the agent
 * has already relayed everything the sender wrote through TCP before (so bytes never
 * overtake each other). */

/* weft_msg_flows value, keyed by the sender's weft_sock_key. Written by sk_msg only. */
struct weft_msg_flow {
  __u64 passed;     /* bytes the sender wrote into its own TCP stream (to the agent) */
  __u64 redirected; /* bytes moved into the target's send queue */
};

/* weft_msg_pairs value, keyed by the sender's weft_sock_key. Written by the agent only. */
struct weft_msg_pair {
  struct weft_sock_key target; /* the agent socket whose peer the sender's bytes are for */
  __u64 forwarded; /* bytes of the sender's TCP stream the agent has written into target */
};

/* weft_msg_expect key: an upstream connection the agent is about to make to a local pod,
 * seen from the pod's accepted socket (its address and port, the agent's source port). */
struct weft_expect_key {
  struct weft_addr local_ip;
  __u16 local_port;
  __u16 remote_port;
};

/* weft_strict key: a local pod's address and one of its ports, or port 0 for the pod's
 * mode on every port without an entry of its own. A pod is in the map only when some port
 * of it is STRICT, so a SYN costs at most two lookups: its port, then the pod's default. */
struct weft_strict_key {
  struct weft_addr ip;
  __u16 port;
  __u16 pad0;
};

/* weft_strict values: whether a connection attempt from anyone but the node's agent (or the
 * pod itself) is dropped. EXEMPT is a port exception under a STRICT pod default. */
#define WEFT_STRICT_EXEMPT 0
#define WEFT_STRICT_ENFORCED 1

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
  X(FAST_PATH_ENROLLED, "fast_path_enrolled")       /* a pod socket joined weft_msg_sk */   \
  X(FAST_PATH_ENROL_FAILED, "fast_path_enrol_failed") /* sockhash full: relayed by agent */ \
  X(FAST_PATH_REDIRECTED, "fast_path_redirected")   /* a pod's send moved by sk_msg */      \
  X(FAST_PATH_TARGET_GONE, "fast_path_target_gone") /* agent socket left: sent via TCP */ \
  X(STRICT_PLAINTEXT_DROPPED, "strict_plaintext_dropped") /* SYN to STRICT not via agent */ \
  X(STRICT_UNPARSED_DROPPED, "strict_unparsed_dropped") /* IPv6 to STRICT: TCP not found */

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
_Static_assert(sizeof(struct weft_sock_key) == 40, "weft_sock_key");
_Static_assert(sizeof(struct weft_close_event) == 72, "weft_close_event");
_Static_assert(sizeof(struct weft_msg_flow) == 16, "weft_msg_flow");
_Static_assert(sizeof(struct weft_msg_pair) == 48, "weft_msg_pair");
_Static_assert(sizeof(struct weft_expect_key) == 20, "weft_expect_key");
_Static_assert(sizeof(struct weft_strict_key) == 20, "weft_strict_key");
#endif
