#pragma once

// The pure half of the directory source: the directory's files (as text) → one snapshot.
// A file that fails to parse keeps the objects it had when it last parsed, so one bad edit
// changes nothing; a file that disappears takes its objects with it.

#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "operator/model/objects.h"
#include "operator/model/source_snapshot.h"

namespace weft::op {

// Each file's text, or why it could not be read, keyed by its path relative to the
// directory ("demo/app.yaml"); sorted, so objects are added in a stable order.
using FileTexts = absl::btree_map<std::string, absl::StatusOr<std::string>>;

// The objects of each file as of its last successful parse.
using FileObjects = absl::btree_map<std::string, std::vector<SourceObject>>;

struct DirectoryBuild {
  FileObjects files;           // pass to the next build as `last_good`
  SourceSnapshotPtr snapshot;  // null when objects clash: keep serving the previous snapshot
  absl::Status status;         // OK, or every problem found, one per line
};

DirectoryBuild buildDirectorySnapshot(const FileTexts& texts, const FileObjects& last_good);

}  // namespace weft::op
