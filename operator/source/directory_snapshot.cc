#include "operator/source/directory_snapshot.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "operator/source/yaml_objects.h"

namespace weft::op {

namespace {

// Every problem of one build in one status: a person fixing the directory wants them all.
absl::Status combine(const std::vector<absl::Status>& problems) {
  if (problems.empty()) {
    return absl::OkStatus();
  }
  std::vector<std::string> lines;
  for (const absl::Status& problem : problems) {
    lines.emplace_back(problem.message());
  }
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace

DirectoryBuild buildDirectorySnapshot(const FileTexts& texts, const FileObjects& last_good) {
  DirectoryBuild out;
  std::vector<absl::Status> problems;
  for (const auto& [path, text] : texts) {
    absl::StatusOr<std::vector<SourceObject>> objects =
        text.ok() ? parseYamlObjects(*text, path)
                  : absl::StatusOr<std::vector<SourceObject>>(text.status());
    if (objects.ok()) {
      out.files.emplace(path, *std::move(objects));
      continue;
    }
    auto previous = last_good.find(path);
    const bool kept = previous != last_good.end();
    if (kept) {
      out.files.emplace(path, previous->second);
    }
    problems.push_back(absl::InvalidArgumentError(absl::StrCat(
        objects.status().message(), kept ? " (the file's last good objects stay in use)"
                                         : " (the file is left out until it parses)")));
  }
  SourceSnapshotBuilder builder;
  bool clash = false;
  for (const auto& [path, objects] : out.files) {
    for (const SourceObject& object : objects) {
      if (absl::Status added = builder.add(object, path); !added.ok()) {
        problems.push_back(added);
        clash = true;
      }
    }
  }
  if (clash) {
    problems.push_back(absl::InvalidArgumentError(
        "the directory was not applied: the last good snapshot stays in use"));
  } else {
    out.snapshot = std::move(builder).build();
  }
  out.status = combine(problems);
  return out;
}

}  // namespace weft::op
