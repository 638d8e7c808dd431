#pragma once

// The fake API server's storage, behaving as the real API server does for what weft uses:
// one resourceVersion counter for every write (etcd's revision); create / update / patch /
// delete with their rules (the status subresource, generation, conflicts); LIST in key order
// with limit and continue tokens; and WATCH from a resourceVersion, served from a bounded
// history of events so that a version older than the history is answered with an ERROR
// event carrying a 410 Expired Status. Thread-safe: the server's connection threads and the
// test share it.
//
// A LIST at an older resourceVersion (the pages after the first, resourceVersionMatch=Exact)
// is served from the same history, by undoing the events after it, so every page of a list
// is one consistent snapshot, as etcd serves it.
//
// Simplifications, on purpose: namespaces need not exist before objects are created in
// them; no field or label selectors; no finalizers or graceful deletion; strategic merge
// patch is applied as a JSON merge patch; a resourceVersion newer than the store's is
// refused at once (the real one waits a few seconds for it first).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace weft::test::kube {

using nlohmann::json;

struct FakeResource {
  std::string group;  // "" for core
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;
  bool status_subresource = true;
  // The API server leaves kind and apiVersion out of the items of built-in types' lists;
  // custom resources' items keep them.
  bool builtin = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
};

// What a request gets: an HTTP status and a JSON body (an object, a list or a Status).
struct Reply {
  int code = 200;
  json body;
};

// A metav1.Status body, as the API server writes one for a failed request.
json statusBody(int code, const std::string& reason, const std::string& message);

// The query parameters of a LIST.
struct ListOptions {
  size_t limit = 0;  // 0: everything
  std::string continue_token{};
  std::string resource_version{};        // "": the most recent; "0": any
  std::string resource_version_match{};  // "", "Exact" or "NotOlderThan"
};

// One watch, from the moment it is opened to its end.
struct WatchCursor {
  const FakeResource* resource = nullptr;
  std::string namespace_name{};  // empty: all namespaces
  bool bookmarks = false;
  absl::Time deadline{};               // timeoutSeconds
  uint64_t after = 0;                  // events up to this resourceVersion have been sent
  std::vector<std::string> initial{};  // ADDED events for a watch from "" or "0"
  bool ended = false;                  // an ERROR event was sent: the watch ends
  uint64_t drops_seen = 0;
  uint64_t bookmarks_seen = 0;
};

enum class WatchEndReason { kTimeout, kError, kDropped, kShutdown };

class FakeStore {
 public:
  explicit FakeStore(size_t history_limit = 1000);

  // --- resource types (like installing or deleting a CRD) ---
  void addResource(FakeResource resource);
  void removeResource(const std::string& group, const std::string& plural);
  const FakeResource* find(const std::string& group, const std::string& version,
                           const std::string& plural) const;

  // --- requests, as the API server treats them ---
  // Create: status is dropped for types with a status subresource; uid, creationTimestamp,
  // generation and resourceVersion are set. 201.
  Reply create(const FakeResource& resource, const std::string& ns, json object);
  // Update of the object (status kept as stored) or, with `status_only`, of its status alone.
  // A resourceVersion in the body must be the stored one (else 409 Conflict).
  Reply update(const FakeResource& resource, const std::string& ns, const std::string& name,
               json object, bool status_only);
  Reply patch(const FakeResource& resource, const std::string& ns, const std::string& name,
              const std::string& content_type, const std::string& body, bool status_only);
  Reply remove(const FakeResource& resource, const std::string& ns, const std::string& name);
  Reply get(const FakeResource& resource, const std::string& ns, const std::string& name) const;
  // With the API's resourceVersion semantics: unset, the most recent state; "0" or
  // NotOlderThan, the current one (never older than asked); Exact (and, as the API does for
  // compatibility, a version with a limit), that version's state, 410 Expired once it is
  // older than the history. A continue token lists on at its first page's version.
  Reply list(const FakeResource& resource, const std::string& ns,
             const ListOptions& options) const;

  // --- watch ---
  // Opens a watch from `resource_version` ("" or "0": the current objects as ADDED events
  // first). An error reply (400) for a version that is not a number.
  Reply openWatch(WatchCursor& cursor, const std::string& resource_version) const;
  // Waits for what the watch should send next and appends it to `lines` (JSON, no newline).
  // False when the watch is over, `reason` saying why.
  bool nextEvents(WatchCursor& cursor, std::vector<std::string>& lines, WatchEndReason& reason);

  // --- for tests ---
  // Stores `object` as given, status included (what a controller and the kubelet would have
  // written), creating or replacing it; kind and apiVersion name its type. The stored object.
  json apply(json object);
  // Deletes the object of that kind; false when there is none.
  bool erase(const std::string& api_version, const std::string& kind, const std::string& ns,
             const std::string& name);
  uint64_t resourceVersion() const;
  // Forgets the event history: a watch from an older resourceVersion gets 410 Expired.
  void compact();
  // Every watch that asked for bookmarks gets one now, at the current resourceVersion.
  void sendBookmarks();
  // Ends every watch abruptly (the server drops their connections).
  void dropWatches();
  // Ends every watch for good.
  void shutdown();

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  using Objects = std::map<Key, json>;
  struct Event {
    uint64_t resource_version;
    const FakeResource* resource;
    Key key;
    std::string line;  // {"type":...,"object":...}
    json previous;     // the object before the event; null for ADDED
  };

  std::string typeKey(const FakeResource& resource) const;
  Objects& objectsOf(const FakeResource& resource);
  const FakeResource* findKind(const std::string& api_version, const std::string& kind) const;
  Reply checkIdentity(const FakeResource& resource, const std::string& ns, json& object) const;
  Reply write(const FakeResource& resource, const Key& key, json stored, const char* type);
  Reply replaceLocked(const FakeResource& resource, const Key& key, json object, bool status_only);
  void record(const FakeResource& resource, const Key& key, const char* type, const json& object,
              json previous);
  // The version a LIST reads at, or the error to answer.
  Reply listVersion(const ListOptions& options, uint64_t& version, Key& start) const;
  // The objects of `resource` as they were at `version` (not older than the history): the
  // current ones with the events after it undone.
  Objects objectsAt(const FakeResource& resource, uint64_t version) const;
  std::string bookmarkLine(const FakeResource& resource) const;
  std::string expiredLine(uint64_t asked) const;

  const size_t history_limit_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<FakeResource>> resources_;
  std::set<const FakeResource*> removed_;
  std::map<std::string, Objects> objects_;  // by type key
  uint64_t resource_version_ = 1000;        // like a real cluster's: far from zero
  uint64_t compacted_ = 1000;               // events up to this one are gone
  std::deque<Event> history_;
  uint64_t next_uid_ = 1;
  uint64_t drops_ = 0;
  uint64_t bookmark_rounds_ = 0;
  bool shutdown_ = false;
};

}  // namespace weft::test::kube
