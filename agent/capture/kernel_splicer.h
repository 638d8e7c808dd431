#pragma once

// LocalSplicer over the kernel: both sockets go into the pinned sockhash (weft_splice_sk),
// whose sk_skb verdict program (bpf/splice.bpf.c) redirects every received skb to the
// peer's egress; weft_splice_st holds each socket's peer and byte counters.

#include <memory>

#include "absl/status/statusor.h"
#include "agent/capture/splice.h"

namespace weft::agent::capture {

class KernelSplicer : public LocalSplicer {
 public:
  // Map fds stay owned by the caller (the Capture) and must outlive the splicer.
  KernelSplicer(int sockhash_fd, int state_fd) : sockhash_fd_(sockhash_fd), state_fd_(state_fd) {}

  absl::StatusOr<std::unique_ptr<SplicedPair>> splice(int downstream_fd, int upstream_fd) override;

 private:
  int sockhash_fd_;
  int state_fd_;
};

}  // namespace weft::agent::capture
