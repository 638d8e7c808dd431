#pragma once

// An original-destination table the test fills in: what the BPF capture would have recorded
// for each client connection (peer address → the VIP:port it dialled).

#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "agent/capture/capture.h"

namespace weft::test {

class FakeDestinations : public agent::capture::OriginalDestinationTable {
 public:
  void add(const common::SocketAddress& peer, const common::SocketAddress& original) {
    std::lock_guard lock(mu_);
    table_[peer] = original;
  }
  absl::StatusOr<agent::capture::OriginalDestination> lookup(
      const common::SocketAddress& peer, const common::SocketAddress&) const override {
    std::lock_guard lock(mu_);
    auto it = table_.find(peer);
    if (it == table_.end()) {
      return absl::NotFoundError("no entry");
    }
    return agent::capture::OriginalDestination{.address = it->second, .cgroup_id = 42};
  }

 private:
  mutable std::mutex mu_;
  absl::flat_hash_map<common::SocketAddress, common::SocketAddress> table_;
};

}  // namespace weft::test
