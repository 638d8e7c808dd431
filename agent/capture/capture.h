#pragma once

// The agent's view of its eBPF data plane: loads (or adopts) the programs, keeps the
// enrolment, service and STRICT maps in step with the node's config, and answers "where was this
// accepted connection really going?".

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace weft::agent::capture {

class FastPath;  // fast_path.h

struct CaptureOptions {
  std::string bpffs_root;        // maps and links are pinned here (created if absent)
  std::string cgroup_root;       // cgroup v2 directory programs attach to; never the machine root
  common::IpAddress agent_ipv4;  // address enrolled pods dial to reach this agent (IPv4)
  common::IpAddress agent_ipv6;  // same for IPv6; all-zero when the node has none
  uint16_t outbound_port = 15001;
};

// A service address (VIP:port, TCP) whose connections are captured.
struct CapturedService {
  common::SocketAddress vip;
  // An endpoint runs on this node and the agent relays same-node connections through the
  // kernel fast path: clients' sockets are enrolled in it at connect.
  bool fast_path = false;
  bool operator==(const CapturedService&) const = default;
};

// PeerAuthentication STRICT as the kernel enforces it (bpf/pod_ingress.bpf.c): a connection
// attempt to a STRICT port of a local pod is dropped unless it comes from this agent's
// capture address or from the pod itself.
struct StrictPort {
  common::IpAddress pod;
  uint16_t port = 0;    // 0: the pod's mode for each port without an entry of its own
  bool strict = false;  // false: a port exempt from its STRICT pod's default
  bool operator==(const StrictPort&) const = default;
  auto operator<=>(const StrictPort&) const = default;
};

// A connection the kernel redirected to the outbound listener, as recorded by BPF.
struct OriginalDestination {
  common::SocketAddress address;  // the VIP:port the application dialled
  uint64_t cgroup_id = 0;         // cgroup of the connecting pod (the pod-level cgroup)
};

// Per-connection telemetry from sockops, emitted when a captured connection closes.
struct ConnectionClosed {
  uint64_t cgroup_id = 0;              // enrolled pod cgroup of the client
  common::SocketAddress original_dst;  // VIP:port dialled
  uint64_t bytes_sent = 0;             // by the pod's socket
  uint64_t bytes_received = 0;
  uint32_t srtt_us = 0;      // smoothed RTT
  uint32_t retransmits = 0;  // total retransmitted segments
  uint64_t duration_ns = 0;  // established → closed
};

// Lookup of original destinations; an interface so the proxy is tested without a kernel.
class OriginalDestinationTable {
 public:
  virtual ~OriginalDestinationTable() = default;
  // `peer` is the client address accept() returned, `local` the accepted socket's address.
  virtual absl::StatusOr<OriginalDestination> lookup(const common::SocketAddress& peer,
                                                     const common::SocketAddress& local) const = 0;
};

class Capture : public OriginalDestinationTable {
 public:
  // Loads and attaches every program under `cgroup_root`, pinning maps and links under
  // `bpffs_root`; when an earlier agent left pins there, adopts them instead of reloading,
  // so capture never stops across an agent restart. Fails with a one-line reason (no
  // bpffs, no cgroup v2, cgroup_root is the machine's root cgroup, not root, ...).
  static absl::StatusOr<std::unique_ptr<Capture>> open(const CaptureOptions& options);
  // Detaches everything pinned under `bpffs_root` and removes the pins (agent --uninstall).
  static absl::Status uninstall(const std::string& bpffs_root);

  ~Capture() override;

  // True when the programs were adopted from pins rather than loaded by this process.
  bool adopted() const;

  // Replaces the set of enrolled pod cgroups (ids of pod-level cgroup directories).
  absl::Status setEnrolledCgroups(std::span<const uint64_t> cgroup_ids);
  // Replaces the set of captured service addresses.
  absl::Status setServices(std::span<const CapturedService> services);
  // Replaces the STRICT pods and ports; a pod with no entry is not enforced.
  absl::Status setStrictPorts(std::span<const StrictPort> ports);

  absl::StatusOr<OriginalDestination> lookup(const common::SocketAddress& peer,
                                             const common::SocketAddress& local) const override;

  // File descriptor that becomes readable when telemetry events are pending (for epoll).
  int telemetryFd() const;
  // Consumes pending telemetry events without blocking.
  absl::Status drainTelemetry(const std::function<void(const ConnectionClosed&)>& on_close);

  // The data plane's per-CPU reason counters (weft_abi.h WEFT_STATS), summed over CPUs.
  struct Counter {
    std::string name;  // e.g. "captured_v4", "events_ringbuf_full"
    uint64_t value = 0;
  };
  absl::StatusOr<std::vector<Counter>> counters() const;

  // The same-node kernel fast path (fast_path.h); lives as long as this Capture.
  FastPath& fastPath();

  class Impl;

 private:
  explicit Capture(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// cgroup v2 helpers (kubelet layout aware).
// The mount point of the cgroup v2 hierarchy, discovered from /proc/mounts.
absl::StatusOr<std::string> findCgroup2Mount();
// The cgroup id of a cgroup v2 directory (its inode number).
absl::StatusOr<uint64_t> cgroupId(const std::string& path);
// Finds the pod-level cgroup directory of pod `uid` below `root`, in either kubelet layout:
// cgroupfs (".../pod<uid>") or systemd (".../kubepods-<qos>-pod<uid with _>.slice").
absl::StatusOr<std::string> findPodCgroup(const std::string& root, const std::string& uid);

}  // namespace weft::agent::capture
