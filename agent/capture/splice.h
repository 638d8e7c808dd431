#pragma once

// Same-node fast path: the agent hands a connected pair of its own TCP sockets (downstream:
// accepted from the pod, upstream: connected to the backend) to the kernel, which then moves
// the bytes between them without waking the agent. An interface so the proxy is unit-tested
// with a fake; KernelSplicer (kernel_splicer.h) is the real one.
//
// How the proxy uses it:
//  1. splice(downstream, upstream) right after the upstream connect completes and before
//     reading anything from either socket (MSG_PEEK is fine): the kernel redirects a
//     half-read skb whole, which would repeat bytes, so splice refuses such sockets. Bytes
//     that already arrived are pushed through by the kernel. If splice fails (e.g. the
//     client already sent its FIN), relay in user space as usual; nothing was lost.
//  2. Keep both fds in epoll as before. Relayed bytes never wake the agent; when X's peer
//     finishes sending, X reports EPOLLIN|EPOLLRDHUP and recv() returns 0 (checked on
//     Linux 6.18; before that recv() on a spliced socket just says EAGAIN).
//  3. Then poll progress() until that direction's *_drained flag is set: the kernel moves
//     bytes asynchronously (a worker sends them into Y), and
//     shutdown(Y, SHUT_WR) before every byte was handed to Y would cut the stream short.
//     Only then shutdown(Y, SHUT_WR). A few retries on a short timer are normal; a drain
//     that never completes (bytes_dropped > 0, or a peer reset) is a broken connection.
//  4. When both directions are done, destroy the SplicedPair, then close the fds.

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::agent::capture {

struct SpliceProgress {
  // Bytes the kernel moved since splice(), per direction.
  uint64_t downstream_to_upstream = 0;
  uint64_t upstream_to_downstream = 0;
  // The socket's peer has finished sending (its FIN arrived).
  bool downstream_eof = false;
  bool upstream_eof = false;
  // Every byte the source socket received has been written into the target socket's send
  // queue; after the source's EOF this is the moment to shutdown(target, SHUT_WR).
  bool downstream_to_upstream_drained = false;
  bool upstream_to_downstream_drained = false;
  // Bytes the kernel had to drop because the other socket was gone: the stream is broken.
  uint64_t bytes_dropped = 0;
};

// One spliced pair; destroying it takes the sockets out of the kernel fast path (it does not
// close them). Destroy only when both directions are drained or the connection is abandoned:
// bytes still queued inside the kernel are discarded.
class SplicedPair {
 public:
  virtual ~SplicedPair() = default;
  virtual absl::StatusOr<SpliceProgress> progress() = 0;
};

class LocalSplicer {
 public:
  virtual ~LocalSplicer() = default;
  // Both fds must be connected TCP sockets of this process, with nothing yet read from them.
  // The fds stay owned by the caller and must outlive the returned pair.
  virtual absl::StatusOr<std::unique_ptr<SplicedPair>> splice(int downstream_fd,
                                                              int upstream_fd) = 0;
};

}  // namespace weft::agent::capture
