#pragma once

// The Kubernetes source's cache of one resource type, as a reflector has seen it: the
// objects, the resourceVersion a watch continues from, and the objects that could not be
// read. Pure (JSON in, model objects out), so list/watch bookkeeping is unit-tested without
// a server; the reflector (reflector.h) feeds it and locks around it.
//
// An object that cannot be read changes nothing, as a bad file changes nothing in directory
// mode: its last good version (if any) stays, and the problem is kept for reporting.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "operator/kube/api_messages.h"
#include "operator/kube/resource_type.h"
#include "operator/model/objects.h"
#include "operator/model/source_snapshot.h"

namespace weft::op {

class ResourceStore {
 public:
  explicit ResourceStore(const kube::ResourceType& type) : type_(&type) {}

  struct Replaced {
    bool changed = false;               // the objects differ from before
    std::vector<std::string> problems;  // one line per object that could not be read
  };
  // Takes the result of a full LIST (every page's items) and its resourceVersion. Objects
  // the list does not hold are gone: deleted while no watch was looking.
  Replaced replace(const std::vector<nlohmann::json>& items, std::string resource_version);

  struct Applied {
    bool changed = false;
    std::string problem;                   // the event's object could not be read
    std::optional<kube::ApiStatus> error;  // an ERROR event: what the server reported
  };
  // Applies one watch event. ADDED, MODIFIED and DELETED change the objects; each event's
  // object carries the resourceVersion to continue from, a BOOKMARK only that.
  Applied apply(const kube::WatchEvent& event);

  const kube::ResourceType& type() const { return *type_; }
  // Where a watch continues from; empty before the first LIST.
  const std::string& resourceVersion() const { return resource_version_; }
  size_t size() const { return objects_.size(); }
  // Objects that could not be read, by key: why.
  const absl::btree_map<ObjectKey, std::string>& problems() const { return problems_; }
  // Adds every object to a snapshot being built.
  absl::Status addTo(SourceSnapshotBuilder& builder) const;

 private:
  // The key of a raw object; namespaced objects without a namespace are in "default".
  absl::StatusOr<ObjectKey> keyOf(const nlohmann::json& object) const;
  // One object read: its key when it has a usable name, the model object when it is valid.
  struct Read {
    std::optional<ObjectKey> key;
    std::optional<SourceObject> object;
    std::string problem;
  };
  Read read(const nlohmann::json& object) const;
  // Records why the object at `key` could not be read; `kept` says whether a last good
  // version stays. Returns the line to report.
  std::string recordProblem(const Read& read, bool kept);
  void advanceTo(const nlohmann::json& object);

  const kube::ResourceType* type_;
  std::string resource_version_;
  absl::btree_map<ObjectKey, SourceObject> objects_;
  absl::btree_map<ObjectKey, std::string> problems_;
};

}  // namespace weft::op
