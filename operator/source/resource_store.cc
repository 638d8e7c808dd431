#include "operator/source/resource_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"
#include "operator/source/json_objects.h"

namespace weft::op {

using nlohmann::json;

absl::StatusOr<ObjectKey> ResourceStore::keyOf(const json& object) const {
  ASSIGN_OR_RETURN(kube::ObjectMeta meta, kube::objectMetaOf(object));
  if (!type_->namespaced) {
    return ObjectKey{"", std::move(meta.name)};
  }
  return ObjectKey{meta.namespace_name.empty() ? "default" : std::move(meta.namespace_name),
                   std::move(meta.name)};
}

void ResourceStore::advanceTo(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return;
  }
  const auto rv = metadata->find("resourceVersion");
  if (rv != metadata->end() && rv->is_string() && !rv->get_ref<const std::string&>().empty()) {
    resource_version_ = rv->get<std::string>();
  }
}

ResourceStore::Read ResourceStore::read(const json& object) const {
  Read out;
  auto key = keyOf(object);
  if (!key.ok()) {
    out.problem = absl::StrCat(type_->kind, " without a usable name: ", key.status().message());
    return out;
  }
  out.key = *std::move(key);
  auto converted = objectFromJson(object, type_->apiVersion(), type_->kind);
  if (converted.ok()) {
    out.object = *std::move(converted);
  } else {
    out.problem = std::string(converted.status().message());
  }
  return out;
}

std::string ResourceStore::recordProblem(const Read& read, bool kept) {
  std::string line =
      absl::StrCat(read.problem, kept ? " (its last good version stays in use)" : " (left out)");
  if (read.key.has_value()) {
    problems_.insert_or_assign(*read.key, line);
  }
  return line;
}

ResourceStore::Replaced ResourceStore::replace(const std::vector<json>& items,
                                               std::string resource_version) {
  Replaced replaced;
  absl::btree_map<ObjectKey, SourceObject> objects;
  problems_.clear();
  for (const json& item : items) {
    Read one = read(item);
    if (one.object.has_value()) {
      objects.insert_or_assign(*one.key, *std::move(one.object));
      continue;
    }
    const auto last_good = one.key ? objects_.find(*one.key) : objects_.end();
    const bool kept = last_good != objects_.end();
    if (kept) {
      objects.insert_or_assign(*one.key, last_good->second);
    }
    replaced.problems.push_back(recordProblem(one, kept));
  }
  replaced.changed = objects != objects_;
  objects_ = std::move(objects);
  resource_version_ = std::move(resource_version);
  return replaced;
}

ResourceStore::Applied ResourceStore::apply(const kube::WatchEvent& event) {
  Applied applied;
  switch (event.type) {
    case kube::EventType::kAdded:
    case kube::EventType::kModified: {
      Read one = read(event.object);
      if (!one.object.has_value()) {
        applied.problem = recordProblem(one, one.key && objects_.contains(*one.key));
        break;
      }
      problems_.erase(*one.key);
      auto [it, inserted] = objects_.try_emplace(*one.key, *one.object);
      applied.changed = inserted || !(it->second == *one.object);
      if (!inserted) {
        it->second = *std::move(one.object);
      }
      break;
    }
    case kube::EventType::kDeleted: {
      if (auto key = keyOf(event.object); key.ok()) {
        applied.changed = objects_.erase(*key) > 0;
        problems_.erase(*key);
      }
      break;
    }
    case kube::EventType::kBookmark:
      break;
    case kube::EventType::kError: {
      auto status = kube::apiStatusFromJson(event.object);
      applied.error = status.ok() ? *status
                                  : kube::ApiStatus{.code = 500,
                                                    .reason = "",
                                                    .message = "an ERROR event without a Status"};
      return applied;  // an error carries no resourceVersion to continue from
    }
  }
  advanceTo(event.object);
  return applied;
}

absl::Status ResourceStore::addTo(SourceSnapshotBuilder& builder) const {
  for (const auto& [key, object] : objects_) {
    RETURN_IF_ERROR(builder.add(object, "the Kubernetes API"));
  }
  return absl::OkStatus();
}

}  // namespace weft::op
