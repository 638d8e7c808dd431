#pragma once

// Strict, path-aware reading of YAML values, the way Kubernetes reads them: a number where
// a string belongs (`version: 1`) is an error, as is a quoted "80" where a port belongs,
// and every error names the field path (`spec.ports[0].port: ...`). Plain scalars resolve
// as YAML 1.1 does (go-yaml, hence kubectl): `on`, `yes` and `y` are booleans.
// Absent and null values read as the type's empty value; callers check what is required.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "operator/model/objects.h"

namespace weft::op {

class YamlMap;

class YamlValue {
 public:
  // The root of a document; paths below it start without a dot ("spec.ports[0]").
  explicit YamlValue(YAML::Node node, std::string path = "")
      : node_(std::move(node)), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Defined and not null.
  bool present() const;
  // "<path>: <problem>" as an InvalidArgument status.
  absl::Status error(absl::string_view problem) const;

  absl::StatusOr<YamlMap> map() const;
  absl::StatusOr<std::vector<YamlValue>> list() const;
  absl::StatusOr<std::string> string() const;
  absl::StatusOr<bool> boolean(bool when_absent) const;
  // An integer in [min, max]; absent is an error (use present() for optional fields).
  absl::StatusOr<int64_t> integer(int64_t min, int64_t max) const;
  // A port number 1..65535; absent is an error.
  absl::StatusOr<uint16_t> port() const;
  // A map of strings to strings (labels, selectors).
  absl::StatusOr<Labels> stringMap() const;
  // True for a number (a plain integer scalar); IntOrString fields (targetPort) branch on it.
  bool isNumber() const;
  // The value as compact JSON, types resolved as above; bounded in size, so anchors and
  // aliases cannot expand into a huge document.
  absl::StatusOr<std::string> json() const;

 private:
  absl::Status writeJson(std::string& out, int& budget, int depth) const;
  absl::Status writeJsonScalar(std::string& out) const;

  YAML::Node node_;
  std::string path_;
};

// The entries of one YAML map, with the keys checked to be unique strings.
class YamlMap {
 public:
  // The value under `key`, or an absent value with the right path.
  YamlValue get(absl::string_view key) const;
  const std::vector<std::pair<std::string, YamlValue>>& entries() const { return entries_; }

 private:
  friend class YamlValue;
  std::string path_;
  std::vector<std::pair<std::string, YamlValue>> entries_;
};

}  // namespace weft::op
