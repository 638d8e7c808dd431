#pragma once

// Where cluster objects come from: a directory of YAML (directory_source.h) or the
// Kubernetes API (kubernetes_source.h). Either hands each new snapshot to the same callback,
// so translation and output do not care which one runs.

#include <functional>

#include "absl/status/status.h"
#include "operator/model/source_snapshot.h"

namespace weft::op {

class Source {
 public:
  // Called with each new snapshot (never with one equal to the last), on the source's thread.
  using SnapshotCallback = std::function<void(SourceSnapshotPtr)>;
  // Called with problems as they happen, and with OK when the source is healthy again.
  using StatusCallback = std::function<void(const absl::Status&)>;

  virtual ~Source() = default;

  // Starts the source; an error, with nothing running, when it cannot start at all.
  virtual absl::Status start() = 0;
  // Stops it; no callback runs after it returns.
  virtual void stop() = 0;
};

}  // namespace weft::op
