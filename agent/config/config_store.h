#pragma once

#include <atomic>
#include <memory>

#include "agent/config/config_snapshot.h"

namespace weft::agent::config {

// The current config snapshot, swapped atomically by the control thread and read by workers
// once per connection.
class ConfigStore {
 public:
  ConfigSnapshotPtr current() const { return current_.load(std::memory_order_acquire); }
  void publish(ConfigSnapshotPtr snapshot) {
    current_.store(std::move(snapshot), std::memory_order_release);
  }

 private:
  std::atomic<ConfigSnapshotPtr> current_;
};

}  // namespace weft::agent::config
