#pragma once

// FastPath over the pinned maps of bpf/sk_msg.bpf.c (weft_msg_sk, weft_msg_pairs,
// weft_msg_expect); see fast_path.h for the protocol and weft_abi.h for the maps.

#include <memory>

#include "absl/status/statusor.h"
#include "agent/capture/fast_path.h"

namespace weft::agent::capture {

struct FastPathMaps {
  int sockets = -1;  // weft_msg_sk
  int flows = -1;    // weft_msg_flows
  int pairs = -1;    // weft_msg_pairs
  int expect = -1;   // weft_msg_expect
};

class KernelFastPath : public FastPath {
 public:
  // The map fds stay owned by the caller (the Capture) and must outlive this object.
  explicit KernelFastPath(FastPathMaps maps) : maps_(maps) {}

  absl::Status expect(const common::SocketAddress& endpoint, uint16_t local_port) override;
  void forget(const common::SocketAddress& endpoint, uint16_t local_port) override;
  absl::Status release(int client_fd) override;
  absl::StatusOr<std::unique_ptr<FastPathConnection>> pair(int client_fd, int upstream_fd) override;

 private:
  FastPathMaps maps_;
};

}  // namespace weft::agent::capture
