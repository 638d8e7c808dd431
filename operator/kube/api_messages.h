#pragma once

// The JSON messages of the Kubernetes API that the client reads: a metav1.Status (how errors
// are reported), a page of a LIST, one event of a WATCH stream, an object's metadata, and the
// splitting of a watch stream into lines. Pure (bytes in, values out), so it is unit-tested
// and fuzzed (test/fuzz/watch_event_fuzz.cc) without a server.

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft::op::kube {

// A metav1.Status: the body of a failed request, or the object of a watch ERROR event.
struct ApiStatus {
  int code = 0;           // the HTTP status it stands for: 410, 403, ...
  std::string reason{};   // "Expired", "Gone", "Forbidden", "NotFound", ...
  std::string message{};  // what the API server says, e.g. "too old resource version: 5 (9)"
};

// Reads a Status object; an error when `json` is not one.
absl::StatusOr<ApiStatus> apiStatusFromJson(const nlohmann::json& json);
// The Status a failed response carries, or one made of the HTTP code and the start of the
// body when the body is not a Status (a proxy's error page, an empty body).
ApiStatus apiStatusFromBody(int http_status, absl::string_view body);
// 410 Gone / Expired: the resourceVersion or continue token is older than the history the
// server keeps; the client must list again.
bool isExpired(const ApiStatus& status);
// "403 Forbidden: pods is forbidden: User ... cannot list ..." for logs and errors.
std::string describe(const ApiStatus& status);

// The parts of metadata the client itself uses (the model's converter reads the rest).
struct ObjectMeta {
  std::string namespace_name{};  // empty for cluster-scoped objects
  std::string name{};
  std::string resource_version{};
};
// An object's metadata; the name is required, the rest may be absent.
absl::StatusOr<ObjectMeta> objectMetaOf(const nlohmann::json& object);

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };
const char* eventTypeName(EventType type);

struct WatchEvent {
  EventType type = EventType::kAdded;
  nlohmann::json object{};  // the object; a Status for kError; only metadata for kBookmark
};

// One line of a watch stream: {"type":"ADDED","object":{...}}.
absl::StatusOr<WatchEvent> parseWatchEvent(absl::string_view line);

struct ListPage {
  std::string resource_version{};  // of the whole list, where a watch continues from
  std::string continue_token{};    // empty on the last page
  std::vector<nlohmann::json> items{};
};

// The body of a LIST answer: {"kind":"PodList","metadata":{...},"items":[...]}.
absl::StatusOr<ListPage> parseListPage(absl::string_view body);

// Splits a watch stream into lines. The stream arrives in pieces that may end anywhere: in
// the middle of an event, of a UTF-8 sequence, of the newline itself.
class LineSplitter {
 public:
  using LineHandler = std::function<absl::Status(absl::string_view line)>;

  explicit LineSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Calls `on_line` for each line completed by `data` (without its '\n'; blank lines are
  // skipped). Returns the first error `on_line` returns (the rest of `data` is dropped), or
  // an error when a line grows past the limit.
  absl::Status feed(absl::string_view data, const LineHandler& on_line);
  // Bytes of a line not finished yet.
  size_t pending() const { return partial_.size(); }

 private:
  size_t max_line_bytes_;
  std::string partial_;
};

}  // namespace weft::op::kube
