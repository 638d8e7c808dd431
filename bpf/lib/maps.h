/* maps.h: every map of the data plane. Each is pinned by name under --bpffs-root, so all
 * weft objects share one instance and a restarted agent finds the same maps. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "weft_abi.h"

/* Enrolled pod-level cgroup ids. Written by the agent (setEnrolledCgroups); read by connect. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_ENROLLED);
  __type(key, __u64);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_enrolled SEC(".maps");

/* Captured service VIP:port. Written by the agent (setServices); read by connect. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_SERVICES);
  __type(key, struct weft_service_key);
  __type(value, struct weft_service_value);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_services SEC(".maps");

/* Captured sockets by cookie (orig dst + live telemetry). Written by connect (create) and
 * sockops (update, delete on close); read by getpeername, sockops and the agent (debug). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WEFT_MAX_SOCKETS);
  __type(key, __u64);
  __type(value, struct weft_socket);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_sockets SEC(".maps");

/* Orig dst by 4-tuple. Written by sockops (established, delete on close); read by the
 * agent after accept(). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WEFT_MAX_SOCKETS);
  __type(key, struct weft_sock_key);
  __type(value, struct weft_orig_dst);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_tuples SEC(".maps");

/* Close events. Written by sockops; read by the agent (drainTelemetry). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, WEFT_EVENTS_BYTES);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_events SEC(".maps");

/* Per-CPU counters indexed by enum weft_stat. Written by every program; read by the agent. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WEFT_STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_stats SEC(".maps");

/* Same-node fast path (weft_abi.h explains the protocol). */

/* Enrolled pod sockets (by sockops) and the agent sockets they are paired with (by the
 * agent), by 4-tuple; sk_msg runs on every send of a socket in it. Read by sk_msg (target). */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, WEFT_MAX_FAST_PATH);
  __type(key, struct weft_sock_key);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_msg_sk SEC(".maps");

/* Byte counts of each enrolled pod socket. Created by sockops (enrol), updated by sk_msg,
 * deleted by sockops (close). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WEFT_MAX_FAST_PATH);
  __type(key, struct weft_sock_key);
  __type(value, struct weft_msg_flow);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_msg_flows SEC(".maps");

/* Where an enrolled pod socket's bytes go. Written by the agent (pair, unpair and progress);
 * read by sk_msg. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WEFT_MAX_FAST_PATH);
  __type(key, struct weft_sock_key);
  __type(value, struct weft_msg_pair);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_msg_pairs SEC(".maps");

/* Upstream connections the agent is about to make to local pods. Written by the agent before
 * connect(); read and deleted by sockops when the pod's socket is established. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WEFT_MAX_FAST_PATH);
  __type(key, struct weft_expect_key);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_msg_expect SEC(".maps");

/* Pods (and ports) under PeerAuthentication STRICT. Written by the agent (setStrictPorts);
 * read by pod_ingress. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_STRICT);
  __type(key, struct weft_strict_key);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_strict SEC(".maps");
