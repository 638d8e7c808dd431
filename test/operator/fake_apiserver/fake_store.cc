#include "test/operator/fake_apiserver/fake_store.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace weft::test::kube {

json statusBody(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason},
              {"code", code}};
}

namespace {

std::string objectName(const FakeResource& resource, const std::string& name) {
  return absl::StrCat(resource.plural, resource.group.empty() ? "" : ".", resource.group, " \"",
                      name, "\"");
}

Reply notFound(const FakeResource& resource, const std::string& name) {
  return {404, statusBody(404, "NotFound", absl::StrCat(objectName(resource, name), " not found"))};
}

Reply badRequest(const std::string& message) {
  return {400, statusBody(400, "BadRequest", message)};
}

std::string metaString(const json& object, const char* key) {
  const json& metadata = object.value("metadata", json::object());
  const auto it = metadata.find(key);
  return it != metadata.end() && it->is_string() ? it->get<std::string>() : "";
}

// Everything but metadata and status: a change to it moves metadata.generation on.
json specOf(json object) {
  object.erase("metadata");
  object.erase("status");
  return object;
}

std::string now3339() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

std::string eventLine(const char* type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump();
}

}  // namespace

FakeStore::FakeStore(size_t history_limit) : history_limit_(history_limit) {}

std::string FakeStore::typeKey(const FakeResource& resource) const {
  return resource.group + "/" + resource.plural;
}

FakeStore::Objects& FakeStore::objectsOf(const FakeResource& resource) {
  return objects_[typeKey(resource)];
}

void FakeStore::addResource(FakeResource resource) {
  std::lock_guard lock(mutex_);
  resources_.push_back(std::make_unique<FakeResource>(std::move(resource)));
}

void FakeStore::removeResource(const std::string& group, const std::string& plural) {
  std::lock_guard lock(mutex_);
  // Watches and history may still point at it: it stays allocated, only unreachable.
  for (const auto& resource : resources_) {
    if (resource->group == group && resource->plural == plural) {
      removed_.insert(resource.get());
    }
  }
}

const FakeResource* FakeStore::find(const std::string& group, const std::string& version,
                                    const std::string& plural) const {
  std::lock_guard lock(mutex_);
  for (const auto& resource : resources_) {
    if (resource->group == group && resource->version == version && resource->plural == plural &&
        !removed_.contains(resource.get())) {
      return resource.get();
    }
  }
  return nullptr;
}

const FakeResource* FakeStore::findKind(const std::string& api_version,
                                        const std::string& kind) const {
  for (const auto& resource : resources_) {
    if (resource->apiVersion() == api_version && resource->kind == kind) {
      return resource.get();
    }
  }
  return nullptr;
}

// Checks kind, apiVersion and namespace against the request, and fills them in.
Reply FakeStore::checkIdentity(const FakeResource& resource, const std::string& ns,
                               json& object) const {
  if (!object.is_object()) {
    return badRequest("the body must be a JSON object");
  }
  if (object.contains("apiVersion") && object["apiVersion"] != resource.apiVersion()) {
    return badRequest(absl::StrCat("the API version in the data (", object["apiVersion"].dump(),
                                   ") does not match the expected API version (",
                                   resource.apiVersion(), ")"));
  }
  if (object.contains("kind") && object["kind"] != resource.kind) {
    return badRequest(absl::StrCat("the kind in the data (", object["kind"].dump(),
                                   ") does not match the expected kind (", resource.kind, ")"));
  }
  object["apiVersion"] = resource.apiVersion();
  object["kind"] = resource.kind;
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    object["metadata"] = json::object();
  }
  json& metadata = object["metadata"];
  if (!resource.namespaced) {
    metadata.erase("namespace");
    return {0, {}};
  }
  if (ns.empty()) {
    return badRequest("a namespace is required for " + resource.plural);
  }
  if (metadata.contains("namespace") && metadata["namespace"] != ns) {
    return badRequest(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  metadata["namespace"] = ns;
  return {0, {}};
}

void FakeStore::record(const FakeResource& resource, const Key& key, const char* type,
                       const json& object, json previous) {
  history_.push_back({resource_version_, &resource, key, eventLine(type, object),
                      std::move(previous)});
  while (history_.size() > history_limit_) {
    compacted_ = history_.front().resource_version;
    history_.pop_front();
  }
  changed_.notify_all();
}

Reply FakeStore::write(const FakeResource& resource, const Key& key, json stored,
                       const char* type) {
  ++resource_version_;
  stored["metadata"]["resourceVersion"] = absl::StrCat(resource_version_);
  json& slot = objectsOf(resource)[key];  // null when new
  json previous = std::exchange(slot, stored);
  record(resource, key, type, stored, std::move(previous));
  return {200, std::move(stored)};
}

Reply FakeStore::create(const FakeResource& resource, const std::string& ns, json object) {
  std::lock_guard lock(mutex_);
  if (Reply bad = checkIdentity(resource, ns, object); bad.code != 0) {
    return bad;
  }
  json& metadata = object["metadata"];
  std::string name = metaString(object, "name");
  const std::string generate = metaString(object, "generateName");
  if (name.empty() && !generate.empty()) {
    name = absl::StrCat(generate, absl::Hex(0x10000 + next_uid_ * 7919 % 0xfffff));
  }
  if (name.empty()) {
    return {422, statusBody(422, "Invalid",
                            absl::StrCat(resource.kind,
                                         " \"\" is invalid: metadata.name: Required value: name "
                                         "or generateName is required"))};
  }
  metadata["name"] = name;
  const Key key{resource.namespaced ? ns : "", name};
  if (objectsOf(resource).contains(key)) {
    return {409, statusBody(409, "AlreadyExists",
                            absl::StrCat(objectName(resource, name), " already exists"))};
  }
  if (resource.status_subresource) {
    object.erase("status");  // status is written through the status subresource only
  }
  metadata["uid"] =
      absl::StrCat("00000000-0000-4000-8000-", absl::Hex(next_uid_++, absl::kZeroPad12));
  metadata["creationTimestamp"] = now3339();
  metadata["generation"] = 1;
  Reply reply = write(resource, key, std::move(object), "ADDED");
  reply.code = 201;
  return reply;
}

Reply FakeStore::replaceLocked(const FakeResource& resource, const Key& key, json object,
                               bool status_only) {
  Objects& objects = objectsOf(resource);
  const auto it = objects.find(key);
  if (it == objects.end()) {
    return notFound(resource, key.second);
  }
  const json& stored = it->second;
  const std::string asked = metaString(object, "resourceVersion");
  if (asked.empty() && !resource.builtin) {
    // Custom resources allow no unconditional update (the API server's CRD strategy).
    return {422, statusBody(422, "Invalid",
                            absl::StrCat(resource.kind, ".", resource.group, " \"", key.second,
                                         "\" is invalid: metadata.resourceVersion: Invalid "
                                         "value: 0x0: must be specified for an update"))};
  }
  if (!asked.empty() && asked != metaString(stored, "resourceVersion")) {
    return {409, statusBody(409, "Conflict",
                            absl::StrCat("Operation cannot be fulfilled on ",
                                         objectName(resource, key.second),
                                         ": the object has been modified; please apply your "
                                         "changes to the latest version and try again"))};
  }
  json next = stored;
  if (status_only) {
    next["status"] = object.value("status", json::object());
  } else {
    const json body_status = object.value("status", json());
    next = std::move(object);
    for (const char* kept : {"uid", "creationTimestamp", "generation", "resourceVersion"}) {
      if (stored["metadata"].contains(kept)) {
        next["metadata"][kept] = stored["metadata"][kept];
      }
    }
    next.erase("status");
    if (resource.status_subresource && stored.contains("status")) {
      next["status"] = stored["status"];
    } else if (!resource.status_subresource && !body_status.is_null()) {
      next["status"] = body_status;
    }
    if (specOf(next) != specOf(stored)) {
      next["metadata"]["generation"] = stored["metadata"].value("generation", 0) + 1;
    }
  }
  if (next == stored) {
    return {200, stored};  // a no-op write changes no resourceVersion and sends no event
  }
  return write(resource, key, std::move(next), "MODIFIED");
}

Reply FakeStore::update(const FakeResource& resource, const std::string& ns,
                        const std::string& name, json object, bool status_only) {
  std::lock_guard lock(mutex_);
  if (Reply bad = checkIdentity(resource, ns, object); bad.code != 0) {
    return bad;
  }
  const std::string body_name = metaString(object, "name");
  if (!body_name.empty() && body_name != name) {
    return badRequest(absl::StrCat("the name of the object (", body_name,
                                   ") does not match the name on the URL (", name, ")"));
  }
  object["metadata"]["name"] = name;
  return replaceLocked(resource, {resource.namespaced ? ns : "", name}, std::move(object),
                       status_only);
}

Reply FakeStore::patch(const FakeResource& resource, const std::string& ns, const std::string& name,
                       const std::string& content_type, const std::string& body, bool status_only) {
  std::lock_guard lock(mutex_);
  const Key key{resource.namespaced ? ns : "", name};
  const auto it = objectsOf(resource).find(key);
  if (it == objectsOf(resource).end()) {
    return notFound(resource, name);
  }
  json patch = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (patch.is_discarded()) {
    return badRequest("the patch is not JSON");
  }
  const std::string type(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  json patched = it->second;
  if (type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json") {
    patched.merge_patch(patch);
  } else if (type == "application/json-patch+json") {
    try {
      patched = patched.patch(patch);
    } catch (const std::exception& e) {
      return {422, statusBody(422, "Invalid", absl::StrCat("the JSON patch failed: ", e.what()))};
    }
  } else {
    return {415, statusBody(415, "UnsupportedMediaType",
                            absl::StrCat("the body of the request was in an unknown format - "
                                         "accepted media types include: "
                                         "application/json-patch+json, "
                                         "application/merge-patch+json, got \"",
                                         content_type, "\""))};
  }
  if (metaString(patched, "name") != name || patched.value("kind", json()) != resource.kind) {
    return badRequest("a patch may not change the object's name or kind");
  }
  return replaceLocked(resource, key, std::move(patched), status_only);
}

Reply FakeStore::remove(const FakeResource& resource, const std::string& ns,
                        const std::string& name) {
  std::lock_guard lock(mutex_);
  Objects& objects = objectsOf(resource);
  const auto it = objects.find({resource.namespaced ? ns : "", name});
  if (it == objects.end()) {
    return notFound(resource, name);
  }
  json previous = std::move(it->second);
  const Key key = it->first;
  objects.erase(it);
  ++resource_version_;
  json object = previous;
  object["metadata"]["resourceVersion"] = absl::StrCat(resource_version_);
  record(resource, key, "DELETED", object, std::move(previous));
  return {200, std::move(object)};
}

Reply FakeStore::get(const FakeResource& resource, const std::string& ns,
                     const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto objects = objects_.find(typeKey(resource));
  if (objects != objects_.end()) {
    const auto it = objects->second.find({resource.namespaced ? ns : "", name});
    if (it != objects->second.end()) {
      return {200, it->second};
    }
  }
  return notFound(resource, name);
}

Reply FakeStore::listVersion(const ListOptions& options, uint64_t& version, Key& start) const {
  version = resource_version_;
  bool exact = false;
  const std::string& asked = options.resource_version;
  const std::string& match = options.resource_version_match;
  if (!options.continue_token.empty()) {
    if (!asked.empty() && asked != "0") {
      return badRequest("specifying resource version is not allowed when using continue");
    }
    std::string decoded;
    json token;
    if (absl::WebSafeBase64Unescape(options.continue_token, &decoded)) {
      token = json::parse(decoded, nullptr, false);
    }
    if (!token.is_object() || !token["rv"].is_number_unsigned() || !token["start"].is_array() ||
        token["start"].size() != 2 || !token["start"][0].is_string() ||
        !token["start"][1].is_string()) {
      return badRequest("continue key is not valid");
    }
    version = token["rv"].get<uint64_t>();
    start = {token["start"][0].get<std::string>(), token["start"][1].get<std::string>()};
    if (version < compacted_) {
      return {410, statusBody(410, "Expired",
                              "The provided continue parameter is too old to display a "
                              "consistent list result. You can start a new list without the "
                              "continue parameter.")};
    }
    return {0, {}};
  }
  if (asked.empty()) {
    if (!match.empty()) {
      return badRequest(
          "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
          "resourceVersion is provided");
    }
    return {0, {}};  // the most recent state
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(asked, &number)) {
    return badRequest(absl::StrCat("resourceVersion: Invalid value: \"", asked, "\""));
  }
  if (match == "Exact") {
    if (asked == "0") {
      return badRequest(
          "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for "
          "resourceVersion \"0\"");
    }
    exact = true;
  } else if (match.empty()) {
    // Before resourceVersionMatch, a version with a limit meant exactly that version.
    exact = asked != "0" && options.limit > 0;
  } else if (match != "NotOlderThan") {
    return badRequest(absl::StrCat("resourceVersionMatch: Unsupported value: \"", match,
                                   "\": supported values: \"Exact\", \"NotOlderThan\""));
  }
  if (number > resource_version_) {
    return {504, statusBody(504, "Timeout",
                            absl::StrCat("Too large resource version: ", number,
                                         ", current: ", resource_version_))};
  }
  if (exact) {
    if (number < compacted_) {
      return {410, statusBody(410, "Expired",
                              "The resourceVersion for the provided list is too old.")};
    }
    version = number;
  }
  return {0, {}};
}

FakeStore::Objects FakeStore::objectsAt(const FakeResource& resource, uint64_t version) const {
  const auto current = objects_.find(typeKey(resource));
  Objects objects = current == objects_.end() ? Objects() : current->second;
  for (auto it = history_.rbegin(); it != history_.rend() && it->resource_version > version;
       ++it) {
    if (it->resource != &resource) {
      continue;
    }
    if (it->previous.is_null()) {
      objects.erase(it->key);
    } else {
      objects[it->key] = it->previous;
    }
  }
  return objects;
}

Reply FakeStore::list(const FakeResource& resource, const std::string& ns,
                      const ListOptions& options) const {
  std::lock_guard lock(mutex_);
  uint64_t list_version = 0;
  Key start;
  if (Reply refused = listVersion(options, list_version, start); refused.code != 0) {
    return refused;
  }
  json items = json::array();
  json metadata = {{"resourceVersion", absl::StrCat(list_version)}};
  const Objects objects = objectsAt(resource, list_version);
  size_t remaining = 0;
  Key last;
  for (auto it = objects.upper_bound(start); it != objects.end(); ++it) {
    if (!ns.empty() && it->first.first != ns) {
      continue;
    }
    if (options.limit != 0 && items.size() == options.limit) {
      ++remaining;
      continue;
    }
    json item = it->second;
    if (resource.builtin) {
      item.erase("kind");
      item.erase("apiVersion");
    }
    items.push_back(std::move(item));
    last = it->first;
  }
  if (remaining > 0) {
    const json token = {{"rv", list_version}, {"start", {last.first, last.second}}};
    metadata["continue"] = absl::WebSafeBase64Escape(token.dump());
    metadata["remainingItemCount"] = remaining;
  }
  return {200, json{{"kind", resource.kind + "List"},
                    {"apiVersion", resource.apiVersion()},
                    {"metadata", metadata},
                    {"items", items}}};
}

Reply FakeStore::openWatch(WatchCursor& cursor, const std::string& resource_version) const {
  std::lock_guard lock(mutex_);
  cursor.drops_seen = drops_;
  cursor.bookmarks_seen = bookmark_rounds_;
  if (resource_version.empty() || resource_version == "0") {
    // The current state as ADDED events, then what follows.
    const auto objects = objects_.find(typeKey(*cursor.resource));
    if (objects != objects_.end()) {
      for (const auto& [key, object] : objects->second) {
        if (cursor.namespace_name.empty() || key.first == cursor.namespace_name) {
          cursor.initial.push_back(eventLine("ADDED", object));
        }
      }
    }
    cursor.after = resource_version_;
    return {200, {}};
  }
  if (!absl::SimpleAtoi(resource_version, &cursor.after)) {
    return badRequest(absl::StrCat("resourceVersion: Invalid value: \"", resource_version,
                                   "\": must be a number"));
  }
  return {200, {}};
}

std::string FakeStore::bookmarkLine(const FakeResource& resource) const {
  return eventLine("BOOKMARK",
                   json{{"kind", resource.kind},
                        {"apiVersion", resource.apiVersion()},
                        {"metadata", {{"resourceVersion", absl::StrCat(resource_version_)}}}});
}

std::string FakeStore::expiredLine(uint64_t asked) const {
  return eventLine("ERROR", statusBody(410, "Expired",
                                       absl::StrCat("too old resource version: ", asked, " (",
                                                    compacted_, ")")));
}

bool FakeStore::nextEvents(WatchCursor& cursor, std::vector<std::string>& lines,
                           WatchEndReason& reason) {
  std::unique_lock lock(mutex_);
  const size_t before = lines.size();
  while (true) {
    if (shutdown_ || cursor.drops_seen != drops_ || cursor.ended) {
      reason = shutdown_                     ? WatchEndReason::kShutdown
               : cursor.drops_seen != drops_ ? WatchEndReason::kDropped
                                             : WatchEndReason::kError;
      return false;
    }
    for (std::string& line : cursor.initial) {
      lines.push_back(std::move(line));
    }
    cursor.initial.clear();
    if (cursor.after < compacted_) {
      lines.push_back(expiredLine(cursor.after));
      cursor.ended = true;
      return true;
    }
    const auto first = std::partition_point(
        history_.begin(), history_.end(),
        [&](const Event& event) { return event.resource_version <= cursor.after; });
    for (auto it = first; it != history_.end(); ++it) {
      if (it->resource == cursor.resource &&
          (cursor.namespace_name.empty() || it->key.first == cursor.namespace_name)) {
        lines.push_back(it->line);
      }
    }
    cursor.after = resource_version_;
    if (cursor.bookmarks_seen != bookmark_rounds_) {
      cursor.bookmarks_seen = bookmark_rounds_;
      if (cursor.bookmarks) {
        lines.push_back(bookmarkLine(*cursor.resource));
      }
    }
    if (lines.size() > before) {
      return true;
    }
    if (absl::Now() >= cursor.deadline) {
      reason = WatchEndReason::kTimeout;
      return false;
    }
    changed_.wait_until(lock, absl::ToChronoTime(cursor.deadline));
  }
}

json FakeStore::apply(json object) {
  std::lock_guard lock(mutex_);
  const FakeResource* resource = findKind(object.value("apiVersion", ""), object.value("kind", ""));
  if (resource == nullptr) {
    throw std::invalid_argument("FakeStore::apply: no resource type for " + object.dump());
  }
  std::string ns = metaString(object, "namespace");
  if (resource->namespaced && ns.empty()) {
    ns = "default";
  }
  if (checkIdentity(*resource, ns, object).code != 0 || metaString(object, "name").empty()) {
    throw std::invalid_argument("FakeStore::apply: a bad object: " + object.dump());
  }
  const Key key{resource->namespaced ? ns : "", metaString(object, "name")};
  const auto it = objectsOf(*resource).find(key);
  if (it == objectsOf(*resource).end()) {
    object["metadata"]["uid"] = object["metadata"].value(
        "uid", absl::StrCat("00000000-0000-4000-8000-", absl::Hex(next_uid_++, absl::kZeroPad12)));
    object["metadata"]["creationTimestamp"] = now3339();
    object["metadata"]["generation"] = 1;
    return write(*resource, key, std::move(object), "ADDED").body;
  }
  const json& stored = it->second;
  for (const char* kept : {"uid", "creationTimestamp", "generation", "resourceVersion"}) {
    if (stored["metadata"].contains(kept) && !object["metadata"].contains(kept)) {
      object["metadata"][kept] = stored["metadata"][kept];
    }
  }
  if (specOf(object) != specOf(stored)) {
    object["metadata"]["generation"] = stored["metadata"].value("generation", 0) + 1;
  }
  object["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"];
  if (object == stored) {
    return stored;
  }
  return write(*resource, key, std::move(object), "MODIFIED").body;
}

bool FakeStore::erase(const std::string& api_version, const std::string& kind,
                      const std::string& ns, const std::string& name) {
  const FakeResource* resource = nullptr;
  {
    std::lock_guard lock(mutex_);
    resource = findKind(api_version, kind);
  }
  return resource != nullptr && remove(*resource, ns, name).code == 200;
}

uint64_t FakeStore::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

void FakeStore::compact() {
  std::lock_guard lock(mutex_);
  history_.clear();
  compacted_ = resource_version_;
  changed_.notify_all();
}

void FakeStore::sendBookmarks() {
  std::lock_guard lock(mutex_);
  ++bookmark_rounds_;
  changed_.notify_all();
}

void FakeStore::dropWatches() {
  std::lock_guard lock(mutex_);
  ++drops_;
  changed_.notify_all();
}

void FakeStore::shutdown() {
  std::lock_guard lock(mutex_);
  shutdown_ = true;
  changed_.notify_all();
}

}  // namespace weft::test::kube
