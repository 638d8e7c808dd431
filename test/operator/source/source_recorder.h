#pragma once

// Records what a Source reports through its callbacks, for the test thread to wait on.

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "operator/source/source.h"
#include "test/agent/testing/wait_for.h"

namespace weft::op::testing {

class SourceRecorder {
 public:
  Source::SnapshotCallback snapshots() {
    return [this](SourceSnapshotPtr s) {
      std::lock_guard lock(mutex_);
      snapshots_.push_back(std::move(s));
    };
  }
  Source::StatusCallback statuses() {
    return [this](const absl::Status& s) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(s);
    };
  }
  size_t snapshotCount() {
    std::lock_guard lock(mutex_);
    return snapshots_.size();
  }
  SourceSnapshotPtr latest() {
    std::lock_guard lock(mutex_);
    return snapshots_.empty() ? nullptr : snapshots_.back();
  }
  absl::Status latestStatus() {
    std::lock_guard lock(mutex_);
    return statuses_.empty() ? absl::OkStatus() : statuses_.back();
  }
  // Whether a status reported so far contains `text` ("" matches an OK status).
  bool sawStatus(const std::string& text) {
    std::lock_guard lock(mutex_);
    for (const absl::Status& status : statuses_) {
      if (text.empty() ? status.ok() : absl::StrContains(status.message(), text)) {
        return true;
      }
    }
    return false;
  }
  // Waits until the latest snapshot satisfies `check`.
  bool waitForSnapshot(const std::function<bool(const SourceSnapshot&)>& check) {
    return test::waitFor([&] {
      SourceSnapshotPtr s = latest();
      return s != nullptr && check(*s);
    });
  }

 private:
  std::mutex mutex_;
  std::vector<SourceSnapshotPtr> snapshots_;
  std::vector<absl::Status> statuses_;
};

}  // namespace weft::op::testing
