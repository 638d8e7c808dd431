#pragma once

// Everything a source (the Kubernetes API or a directory) currently holds, as one
// immutable value: translation reads a snapshot and nothing else. Objects are kept in
// maps sorted by (namespace, name), so every walk over a snapshot is deterministic.

#include <array>
#include <memory>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "operator/model/objects.h"

namespace weft::op {

class SourceSnapshot {
 public:
  template <typename T>
  using ByKey = absl::btree_map<ObjectKey, T>;

  const absl::btree_map<std::string, Namespace>& namespaces() const { return namespaces_; }
  const ByKey<Pod>& pods() const { return pods_; }
  const ByKey<Service>& services() const { return services_; }
  const ByKey<EndpointSlice>& endpointSlices() const { return endpoint_slices_; }
  const ByKey<CustomResource>& customResources(CustomResourceKind kind) const {
    return custom_resources_[static_cast<size_t>(kind)];
  }

  const Namespace* findNamespace(const std::string& name) const;
  const Pod* findPod(const ObjectKey& key) const;
  size_t objectCount() const;

  friend bool operator==(const SourceSnapshot&, const SourceSnapshot&) = default;

 private:
  friend class SourceSnapshotBuilder;

  absl::btree_map<std::string, Namespace> namespaces_;
  ByKey<Pod> pods_;
  ByKey<Service> services_;
  ByKey<EndpointSlice> endpoint_slices_;
  std::array<ByKey<CustomResource>, 3> custom_resources_;
};

using SourceSnapshotPtr = std::shared_ptr<const SourceSnapshot>;

// Collects objects into a snapshot. Kubernetes allows one object per kind and key; so does
// the builder, and its error names where both copies came from.
class SourceSnapshotBuilder {
 public:
  // Adds `object`, read from `origin` (e.g. a file name relative to the source directory).
  absl::Status add(SourceObject object, absl::string_view origin);
  // The snapshot of everything added; the builder is spent.
  SourceSnapshotPtr build() &&;

 private:
  // Where each (kind, key) came from, for the duplicate error.
  absl::btree_map<std::pair<std::string, ObjectKey>, std::string> origins_;
  SourceSnapshot snapshot_;
};

}  // namespace weft::op
