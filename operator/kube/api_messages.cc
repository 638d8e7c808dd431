#include "operator/kube/api_messages.h"

#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/http/status.h"
#include "common/util/status_macros.h"

namespace weft::op::kube {

using nlohmann::json;

namespace {

absl::StatusOr<json> parseJson(absl::string_view text, absl::string_view what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not JSON: ", e.what()));
  }
}

// The string at `key` of `object`; "" when absent or null; an error for any other type.
absl::StatusOr<std::string> stringField(const json& object, const char* key,
                                        absl::string_view path) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, key, ": must be a string, got ", it->type_name()));
  }
  return it->get<std::string>();
}

// A body that is not a Status, shortened and escaped so one line of log stays one line.
std::string bodySnippet(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  constexpr size_t kMax = 200;
  std::string snippet = absl::CHexEscape(body.substr(0, kMax));
  return body.size() > kMax ? absl::StrCat(snippet, "...") : snippet;
}

}  // namespace

absl::StatusOr<ApiStatus> apiStatusFromJson(const json& object) {
  if (!object.is_object() || object.value("kind", json()) != "Status") {
    return absl::InvalidArgumentError("not a Status object");
  }
  ApiStatus status;
  const auto code = object.find("code");
  if (code != object.end() && code->is_number_integer()) {
    status.code = code->get<int>();
  }
  ASSIGN_OR_RETURN(status.reason, stringField(object, "reason", ""));
  ASSIGN_OR_RETURN(status.message, stringField(object, "message", ""));
  return status;
}

ApiStatus apiStatusFromBody(int http_status, absl::string_view body) {
  if (auto parsed = parseJson(body, "body"); parsed.ok()) {
    if (auto status = apiStatusFromJson(*parsed); status.ok()) {
      if (status->code == 0) {
        status->code = http_status;
      }
      return *status;
    }
  }
  return ApiStatus{.code = http_status, .reason = "", .message = bodySnippet(body)};
}

bool isExpired(const ApiStatus& status) {
  return status.code == 410 || status.reason == "Expired" || status.reason == "Gone";
}

std::string describe(const ApiStatus& status) {
  std::string out = absl::StrCat(status.code);
  const absl::string_view phrase = common::http::reasonPhrase(status.code);
  if (!phrase.empty()) {
    absl::StrAppend(&out, " ", phrase);
  } else if (!status.reason.empty()) {
    absl::StrAppend(&out, " ", status.reason);
  }
  if (!status.message.empty()) {
    absl::StrAppend(&out, ": ", status.message);
  }
  return out;
}

absl::StatusOr<ObjectMeta> objectMetaOf(const json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("an object must be a JSON object, got ", object.type_name()));
  }
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return absl::InvalidArgumentError("metadata: required, and must be an object");
  }
  ObjectMeta meta;
  ASSIGN_OR_RETURN(meta.name, stringField(*metadata, "name", "metadata."));
  ASSIGN_OR_RETURN(meta.namespace_name, stringField(*metadata, "namespace", "metadata."));
  ASSIGN_OR_RETURN(meta.resource_version, stringField(*metadata, "resourceVersion", "metadata."));
  if (meta.name.empty()) {
    return absl::InvalidArgumentError("metadata.name: required");
  }
  return meta;
}

const char* eventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
    case EventType::kBookmark:
      return "BOOKMARK";
    case EventType::kError:
      return "ERROR";
  }
  return "?";
}

absl::StatusOr<WatchEvent> parseWatchEvent(absl::string_view line) {
  ASSIGN_OR_RETURN(json event, parseJson(line, "watch event"));
  if (!event.is_object()) {
    return absl::InvalidArgumentError("watch event: must be a JSON object");
  }
  ASSIGN_OR_RETURN(const std::string type, stringField(event, "type", "watch event: "));
  WatchEvent out;
  bool known = false;
  for (EventType t : {EventType::kAdded, EventType::kModified, EventType::kDeleted,
                      EventType::kBookmark, EventType::kError}) {
    if (type == eventTypeName(t)) {
      out.type = t;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch event: unknown type \"", absl::CHexEscape(type.substr(0, 32)), "\""));
  }
  auto object = event.find("object");
  if (object == event.end() || !object->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch event ", type, ": object: required, and must be an object"));
  }
  out.object = std::move(*object);
  return out;
}

absl::StatusOr<ListPage> parseListPage(absl::string_view body) {
  ASSIGN_OR_RETURN(json list, parseJson(body, "list"));
  if (!list.is_object()) {
    return absl::InvalidArgumentError("list: must be a JSON object");
  }
  ListPage page;
  const auto metadata = list.find("metadata");
  if (metadata != list.end() && !metadata->is_object()) {
    return absl::InvalidArgumentError("list: metadata must be an object");
  }
  if (metadata != list.end()) {
    ASSIGN_OR_RETURN(page.resource_version,
                     stringField(*metadata, "resourceVersion", "list: metadata."));
    ASSIGN_OR_RETURN(page.continue_token, stringField(*metadata, "continue", "list: metadata."));
  }
  if (page.resource_version.empty()) {
    return absl::InvalidArgumentError("list: metadata.resourceVersion: required");
  }
  auto items = list.find("items");
  if (items != list.end() && !items->is_null()) {
    if (!items->is_array()) {
      return absl::InvalidArgumentError("list: items must be an array");
    }
    page.items.reserve(items->size());
    for (json& item : *items) {
      page.items.push_back(std::move(item));
    }
  }
  return page;
}

absl::Status LineSplitter::feed(absl::string_view data, const LineHandler& on_line) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const absl::string_view piece = data.substr(0, newline);
    if (partial_.size() + piece.size() > max_line_bytes_) {
      partial_.clear();
      return absl::ResourceExhaustedError(
          absl::StrCat("a watch event is longer than ", max_line_bytes_, " bytes"));
    }
    if (newline == absl::string_view::npos) {
      partial_.append(piece.data(), piece.size());
      return absl::OkStatus();
    }
    data.remove_prefix(newline + 1);
    absl::string_view line = piece;
    if (!partial_.empty()) {
      partial_.append(piece.data(), piece.size());
      line = partial_;
    }
    absl::Status handled =
        absl::StripAsciiWhitespace(line).empty() ? absl::OkStatus() : on_line(line);
    partial_.clear();
    RETURN_IF_ERROR(handled);
  }
  return absl::OkStatus();
}

}  // namespace weft::op::kube
