#include "operator/kube/api_messages.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace weft::op::kube {
namespace {

using nlohmann::json;

constexpr char kExpired[] =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"j("message":"too old resource version: 5 (9)","reason":"Expired","code":410})j";

TEST_CASE("a Status body is read; anything else becomes a Status of the HTTP code") {
  ApiStatus status = apiStatusFromBody(200, kExpired);
  CHECK(status.code == 410);
  CHECK(status.reason == "Expired");
  CHECK(status.message == "too old resource version: 5 (9)");
  CHECK(isExpired(status));
  CHECK(describe(status) == "410 Gone: too old resource version: 5 (9)");

  status = apiStatusFromBody(502, "<html>\n<h1>Bad gateway</h1>\n</html>\n");
  CHECK(status.code == 502);
  CHECK(status.message == "<html>\\n<h1>Bad gateway</h1>\\n</html>");
  CHECK_FALSE(isExpired(status));
  CHECK(describe(status) == "502 Bad Gateway: <html>\\n<h1>Bad gateway</h1>\\n</html>");

  CHECK(describe(apiStatusFromBody(403, "")) == "403 Forbidden");
  CHECK(isExpired({.code = 0, .reason = "Gone", .message = ""}));
  CHECK_FALSE(apiStatusFromJson(json{{"kind", "Pod"}}).ok());
  CHECK_FALSE(apiStatusFromJson(json{{"kind", "Status"}, {"message", 5}}).ok());
}

TEST_CASE("watch events of every type parse; malformed ones are refused with a reason") {
  auto added =
      parseWatchEvent(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a"}}})");
  REQUIRE(added.ok());
  CHECK(added->type == EventType::kAdded);
  CHECK(added->object["metadata"]["name"] == "a");
  for (const auto& [text, type] :
       std::vector<std::pair<std::string, EventType>>{{"MODIFIED", EventType::kModified},
                                                      {"DELETED", EventType::kDeleted},
                                                      {"BOOKMARK", EventType::kBookmark},
                                                      {"ERROR", EventType::kError}}) {
    auto event = parseWatchEvent(R"({"type":")" + text + R"(","object":{}})");
    REQUIRE(event.ok());
    CHECK(event->type == type);
    CHECK(std::string(eventTypeName(type)) == text);
  }
  auto bad = parseWatchEvent(R"({"type":"ADDED","object":{)");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Catch::StartsWith("watch event is not JSON: "));
  CHECK(parseWatchEvent(R"({"type":"SYNC","object":{}})").status().message() ==
        "watch event: unknown type \"SYNC\"");
  CHECK(parseWatchEvent(R"({"type":"ADDED"})").status().message() ==
        "watch event ADDED: object: required, and must be an object");
  CHECK(parseWatchEvent(R"({"type":7,"object":{}})").status().message() ==
        "watch event: type: must be a string, got number");
  CHECK_FALSE(parseWatchEvent("[1,2]").ok());
  CHECK_FALSE(parseWatchEvent("").ok());
}

TEST_CASE("an object's metadata: name required, namespace and resourceVersion optional") {
  auto meta = objectMetaOf(
      json::parse(R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"12"}})"));
  REQUIRE(meta.ok());
  CHECK(meta->name == "a");
  CHECK(meta->namespace_name == "n");
  CHECK(meta->resource_version == "12");
  CHECK(objectMetaOf(json::parse(R"({"metadata":{}})")).status().message() ==
        "metadata.name: required");
  CHECK(objectMetaOf(json::parse(R"({"metadata":{"name":1}})")).status().message() ==
        "metadata.name: must be a string, got number");
  CHECK(objectMetaOf(json::parse(R"({"spec":{}})")).status().message() ==
        "metadata: required, and must be an object");
  CHECK_FALSE(objectMetaOf(json::parse("3")).ok());
}

TEST_CASE("a list page: its resourceVersion, continue token and items") {
  auto page =
      parseListPage(R"({"kind":"PodList","metadata":{"resourceVersion":"77","continue":"abc"},)"
                    R"("items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})");
  REQUIRE(page.ok());
  CHECK(page->resource_version == "77");
  CHECK(page->continue_token == "abc");
  REQUIRE(page->items.size() == 2);
  CHECK(page->items[1]["metadata"]["name"] == "b");

  page = parseListPage(R"({"metadata":{"resourceVersion":"1"},"items":null})");
  REQUIRE(page.ok());
  CHECK(page->items.empty());
  CHECK(parseListPage(R"({"items":[]})").status().message() ==
        "list: metadata.resourceVersion: required");
  CHECK(parseListPage(R"({"metadata":{"resourceVersion":"1"},"items":{}})").status().message() ==
        "list: items must be an array");
  CHECK_FALSE(parseListPage("not json").ok());
}

// Feeds `stream` cut at `cut`, collecting the lines.
std::vector<std::string> splitAt(const std::string& stream, size_t cut) {
  LineSplitter splitter(1024);
  std::vector<std::string> lines;
  auto collect = [&](absl::string_view line) {
    lines.emplace_back(line);
    return absl::OkStatus();
  };
  REQUIRE(splitter.feed(absl::string_view(stream).substr(0, cut), collect).ok());
  REQUIRE(splitter.feed(absl::string_view(stream).substr(cut), collect).ok());
  CHECK(splitter.pending() == 0);
  return lines;
}

TEST_CASE("lines split across pieces anywhere are put back together") {
  const std::string stream = "{\"a\":\"é\"}\n\n{\"b\":2}\r\n{\"c\":3}\n";
  const std::vector<std::string> expected = {"{\"a\":\"é\"}", "{\"b\":2}\r", "{\"c\":3}"};
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK(splitAt(stream, cut) == expected);
  }
}

TEST_CASE("a line past the limit is an error; a handler's error stops the feed") {
  LineSplitter splitter(8);
  auto ignore = [](absl::string_view) { return absl::OkStatus(); };
  CHECK(splitter.feed("12345", ignore).ok());
  CHECK(splitter.pending() == 5);
  const absl::Status too_long = splitter.feed("6789", ignore);
  CHECK(too_long.code() == absl::StatusCode::kResourceExhausted);
  CHECK(too_long.message() == "a watch event is longer than 8 bytes");

  LineSplitter stopping(100);
  int calls = 0;
  const absl::Status stopped = stopping.feed("a\nb\nc\n", [&](absl::string_view line) {
    ++calls;
    return line == "b" ? absl::AbortedError("stop") : absl::OkStatus();
  });
  CHECK(stopped.message() == "stop");
  CHECK(calls == 2);
}

}  // namespace
}  // namespace weft::op::kube
