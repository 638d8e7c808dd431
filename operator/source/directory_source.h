#pragma once

// Directory mode: a directory of YAML files (the same kinds the Kubernetes source reads),
// loaded at start and watched with inotify. Each change (created, written, moved, deleted;
// an editor's write-to-temp-then-rename) rebuilds the snapshot after a short quiet period,
// and a snapshot that differs from the last one is handed to the callback.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/util/scoped_fd.h"
#include "operator/model/source_snapshot.h"
#include "operator/source/directory_snapshot.h"
#include "operator/source/source.h"

namespace weft::op {

// Every *.yaml and *.yml file below `dir`, read, keyed by path relative to `dir`.
// Entries whose name starts with "." are skipped: editors' swap and temp files, and the
// "..data" directories of a mounted ConfigMap (whose files are reached through symlinks).
absl::StatusOr<FileTexts> readYamlFiles(const std::string& dir);

class DirectorySource : public Source {
 public:
  struct Options {
    std::string dir;
    // Changes are applied once the directory has been quiet this long (an editor's save or a
    // `cp -r` is a burst of events), and at the latest after 10 times as long.
    absl::Duration debounce = absl::Milliseconds(100);
  };
  // Snapshots and the status of every rebuild (OK, or what is wrong) are reported on the
  // watch thread.
  DirectorySource(Options options, SnapshotCallback on_snapshot, StatusCallback on_status);
  ~DirectorySource() override;
  DirectorySource(const DirectorySource&) = delete;
  DirectorySource& operator=(const DirectorySource&) = delete;

  // Starts watching, loads the directory and delivers its snapshot before returning, then
  // watches on a thread of its own. Fails, with nothing running, when the directory cannot
  // be read or watched or any file in it is invalid.
  absl::Status start() override;
  // Stops the watch thread; no callback runs after it returns.
  void stop() override;

  // The status of the last rebuild (thread-safe).
  absl::Status lastStatus() const;

 private:
  enum class Wake { kEvents, kQuiet, kStop };

  void run();
  // Waits for the next burst of changes to end; false when stopping.
  bool waitForChanges();
  Wake poll(absl::Duration timeout);
  void drainEvents();
  void watchDirectories();
  void rebuild();
  void apply(DirectoryBuild build);
  void setStatus(absl::Status status);

  Options options_;
  SnapshotCallback on_snapshot_;
  StatusCallback on_status_;
  common::ScopedFd inotify_;
  common::ScopedFd wakeup_;  // eventfd: stop() writes to it
  std::thread thread_;
  FileObjects files_;
  SourceSnapshotPtr current_;
  mutable std::mutex status_mutex_;
  absl::Status last_status_;
};

}  // namespace weft::op
