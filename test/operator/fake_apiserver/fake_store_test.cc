// The fake API server's storage behaves as the real API server does where weft depends on
// it; the client tests rely on these semantics.

#include "test/operator/fake_apiserver/fake_store.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "test/operator/fake_apiserver/test_objects.h"

namespace weft::test::kube {
namespace {

const FakeResource kPods{"", "v1", "pods", "Pod", true, true, true};
const FakeResource kPolicies{"weft.io", "v1alpha1", "trafficpolicies", "TrafficPolicy", true,
                             true,      false};

struct Store {
  explicit Store(size_t history = 1000) : store(history) {
    store.addResource(kPods);
    store.addResource(kPolicies);
    pods = store.find("", "v1", "pods");
  }
  FakeStore store;
  const FakeResource* pods;
};

std::string rv(const json& object) {
  return object["metadata"]["resourceVersion"];
}

TEST_CASE("fake store: a paginated LIST serves every object once, at the first page's version") {
  Store s;
  for (const char* name : {"e", "a", "c", "b", "d"}) {
    s.store.apply(podJson(name, "demo", "n1", "10.0.0.1"));
  }
  const std::string version = std::to_string(s.store.resourceVersion());
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    Reply page = s.store.list(*s.pods, "", {.limit = 2, .continue_token = token});
    REQUIRE(page.code == 200);
    CHECK(page.body["metadata"]["resourceVersion"] == version);
    for (const json& item : page.body["items"]) {
      CHECK_FALSE(item.contains("kind"));  // built-in types' items carry none
      names.push_back(item["metadata"]["name"]);
    }
    token = page.body["metadata"].value("continue", "");
    ++pages;
    // Moves the global version on; sorted before the pages still to come, so not in them.
    s.store.apply(podJson("z", "a-namespace", "n1", "10.0.0.9"));
  } while (!token.empty());
  CHECK(pages == 3);
  CHECK(names == std::vector<std::string>{"a", "b", "c", "d", "e"});

  s.store.apply(trafficPolicyJson("tp", "demo"));
  const Reply policies =
      s.store.list(*s.store.find("weft.io", "v1alpha1", "trafficpolicies"), "demo", {});
  CHECK(policies.body["items"][0]["kind"] == "TrafficPolicy");  // custom resources' do
}

TEST_CASE("fake store: a continue token older than the history is 410 Expired") {
  Store s;
  for (const char* name : {"a", "b", "c"}) {
    s.store.apply(podJson(name, "demo", "n1", "10.0.0.1"));
  }
  const Reply first = s.store.list(*s.pods, "", {.limit = 1});
  s.store.apply(podJson("d", "demo", "n1", "10.0.0.1"));
  s.store.compact();
  const Reply next = s.store.list(*s.pods, "", {.limit = 1, .continue_token = first.body["metadata"]["continue"]});
  CHECK(next.code == 410);
  CHECK(next.body["reason"] == "Expired");
  CHECK(s.store.list(*s.pods, "", {.limit = 1, .continue_token = "garbage"}).code == 400);
}

std::vector<std::string> namesIn(const Reply& page) {
  std::vector<std::string> names;
  for (const json& item : page.body["items"]) {
    names.push_back(item["metadata"]["name"]);
  }
  return names;
}

TEST_CASE("fake store: the pages after the first show the list as it was at its start") {
  Store s;
  for (const char* name : {"a", "b", "c", "d"}) {
    s.store.apply(podJson(name, "demo", "n1", "10.0.0.1"));
  }
  const Reply first = s.store.list(*s.pods, "", {.limit = 2});
  REQUIRE(namesIn(first) == std::vector<std::string>{"a", "b"});
  // Between the pages: c is deleted, d moves, e is created.
  REQUIRE(s.store.erase("v1", "Pod", "demo", "c"));
  s.store.apply(podJson("d", "demo", "n2", "10.0.0.2"));
  s.store.apply(podJson("e", "demo", "n1", "10.0.0.1"));
  const Reply second =
      s.store.list(*s.pods, "", {.limit = 2, .continue_token = first.body["metadata"]["continue"]});
  REQUIRE(second.code == 200);
  CHECK(namesIn(second) == std::vector<std::string>{"c", "d"});
  CHECK(second.body["items"][1]["spec"]["nodeName"] == "n1");
  CHECK_FALSE(second.body["metadata"].contains("continue"));
  CHECK(second.body["metadata"]["resourceVersion"] == first.body["metadata"]["resourceVersion"]);
}

TEST_CASE("fake store: a LIST's resourceVersion: most recent, not older than, or exact") {
  Store s;
  s.store.apply(podJson("a", "demo", "n1", "10.0.0.1"));
  const std::string before_b = std::to_string(s.store.resourceVersion());
  s.store.apply(podJson("b", "demo", "n1", "10.0.0.1"));
  const std::string now = std::to_string(s.store.resourceVersion());

  CHECK(namesIn(s.store.list(*s.pods, "", {})) == std::vector<std::string>{"a", "b"});
  CHECK(namesIn(s.store.list(*s.pods, "", {.resource_version = "0"})).size() == 2);
  // Not older than: the current state, whatever version was asked.
  const Reply not_older = s.store.list(*s.pods, "", {.resource_version = before_b});
  CHECK(namesIn(not_older).size() == 2);
  CHECK(not_older.body["metadata"]["resourceVersion"] == now);
  // Exact, asked for or implied by a limit: the state then.
  const Reply exact = s.store.list(
      *s.pods, "", {.resource_version = before_b, .resource_version_match = "Exact"});
  CHECK(namesIn(exact) == std::vector<std::string>{"a"});
  CHECK(exact.body["metadata"]["resourceVersion"] == before_b);
  CHECK(namesIn(s.store.list(*s.pods, "", {.limit = 10, .resource_version = before_b})) ==
        std::vector<std::string>{"a"});

  const Reply too_new = s.store.list(*s.pods, "", {.resource_version = "999999"});
  CHECK(too_new.code == 504);
  CHECK(too_new.body["message"] == "Too large resource version: 999999, current: " + now);
  CHECK(s.store.list(*s.pods, "", {.resource_version_match = "Exact"}).code == 400);
  CHECK(s.store.list(*s.pods, "", {.resource_version = "0", .resource_version_match = "Exact"})
            .code == 400);
  CHECK(s.store.list(*s.pods, "", {.resource_version = "x"}).code == 400);

  s.store.compact();
  const Reply gone = s.store.list(
      *s.pods, "", {.resource_version = before_b, .resource_version_match = "Exact"});
  CHECK(gone.code == 410);
  CHECK(gone.body["reason"] == "Expired");
  // The current version is still there.
  CHECK(s.store.list(*s.pods, "", {.resource_version = now, .resource_version_match = "Exact"})
            .code == 200);
}

std::vector<json> drain(FakeStore& store, WatchCursor& cursor) {
  std::vector<std::string> lines;
  WatchEndReason reason;
  cursor.deadline = absl::Now();  // return what is there, do not wait
  while (store.nextEvents(cursor, lines, reason)) {
  }
  std::vector<json> events;
  for (const std::string& line : lines) {
    events.push_back(json::parse(line));
  }
  return events;
}

TEST_CASE("fake store: a watch sends the events after its version, in its namespace") {
  Store s;
  s.store.apply(podJson("old", "demo", "n1", "10.0.0.1"));
  WatchCursor cursor{.resource = s.pods, .namespace_name = "demo", .bookmarks = true};
  REQUIRE(s.store.openWatch(cursor, std::to_string(s.store.resourceVersion())).code == 200);
  s.store.apply(podJson("a", "demo", "n1", "10.0.0.1"));
  s.store.apply(podJson("elsewhere", "other", "n1", "10.0.0.1"));
  s.store.erase("v1", "Pod", "demo", "a");
  s.store.sendBookmarks();
  const std::vector<json> events = drain(s.store, cursor);
  REQUIRE(events.size() == 3);
  CHECK(events[0]["type"] == "ADDED");
  CHECK(events[1]["type"] == "DELETED");
  CHECK(events[2]["type"] == "BOOKMARK");
  CHECK(rv(events[2]["object"]) == std::to_string(s.store.resourceVersion()));
  CHECK(events[2]["object"]["kind"] == "Pod");

  WatchCursor no_bookmarks{.resource = s.pods};
  REQUIRE(s.store.openWatch(no_bookmarks, std::to_string(s.store.resourceVersion())).code == 200);
  s.store.sendBookmarks();
  CHECK(drain(s.store, no_bookmarks).empty());  // allowWatchBookmarks was not asked for

  WatchCursor from_zero{.resource = s.pods};
  REQUIRE(s.store.openWatch(from_zero, "0").code == 200);
  const std::vector<json> current = drain(s.store, from_zero);
  REQUIRE(current.size() == 2);  // "old" and "elsewhere", as ADDED
  CHECK(current[0]["type"] == "ADDED");
  CHECK(s.store.openWatch(from_zero, "x1").code == 400);
}

TEST_CASE("fake store: a watch from before the history gets one ERROR 410 and ends") {
  Store s(/*history=*/2);
  const std::string start = std::to_string(s.store.resourceVersion());
  for (const char* name : {"a", "b", "c"}) {
    s.store.apply(podJson(name, "demo", "n1", "10.0.0.1"));
  }
  WatchCursor cursor{.resource = s.pods};
  REQUIRE(s.store.openWatch(cursor, start).code == 200);
  const std::vector<json> events = drain(s.store, cursor);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["type"] == "ERROR");
  CHECK(events[0]["object"]["code"] == 410);
  CHECK(events[0]["object"]["reason"] == "Expired");
  CHECK(events[0]["object"]["message"] ==
        "too old resource version: " + start + " (" + std::to_string(std::stoi(start) + 1) + ")");
}

TEST_CASE("fake store: create drops status, update keeps it, /status changes only it") {
  Store s;
  json pod = podJson("a", "demo", "n1", "10.0.0.1");
  Reply created = s.store.create(*s.pods, "demo", pod);
  REQUIRE(created.code == 201);
  CHECK_FALSE(created.body.contains("status"));
  CHECK(s.store.create(*s.pods, "demo", pod).code == 409);

  Reply status = s.store.update(*s.pods, "demo", "a", pod, /*status_only=*/true);
  REQUIRE(status.code == 200);
  CHECK(status.body["status"]["phase"] == "Running");
  CHECK(status.body["metadata"]["generation"] == 1);

  json relabelled = status.body;
  relabelled["status"] = {{"phase", "Failed"}};  // ignored: not through /status
  relabelled["metadata"]["labels"]["x"] = "y";
  Reply updated = s.store.update(*s.pods, "demo", "a", relabelled, false);
  CHECK(updated.body["status"]["phase"] == "Running");
  CHECK(updated.body["metadata"]["labels"]["x"] == "y");
  CHECK(updated.body["metadata"]["generation"] == 1);  // metadata is not spec

  // The same update again is a no-op: same resourceVersion.
  json same = updated.body;
  CHECK(rv(s.store.update(*s.pods, "demo", "a", same, false).body) == rv(updated.body));
  // A stale resourceVersion conflicts.
  CHECK(s.store.update(*s.pods, "demo", "a", status.body, false).code == 409);
  json nameless = same;
  nameless["metadata"].erase("name");
  CHECK(s.store.update(*s.pods, "demo", "nope", nameless, false).code == 404);
  CHECK(s.store.update(*s.pods, "demo", "nope", same, false).code == 400);  // names differ
  CHECK(s.store
            .patch(*s.pods, "demo", "a", "application/json-patch+json",
                   R"([{"op":"replace","path":"/spec/nodeName","value":"n9"}])", false)
            .body["spec"]["nodeName"] == "n9");
}

TEST_CASE("fake store: a custom resource is only updated at a stated resourceVersion") {
  Store s;
  const FakeResource& policies = *s.store.find("weft.io", "v1alpha1", "trafficpolicies");
  const json stored = s.store.apply(trafficPolicyJson("tp", "demo"));
  json unconditional = stored;
  unconditional["metadata"].erase("resourceVersion");
  unconditional["status"] = {{"conditions", json::array()}};
  const Reply refused = s.store.update(policies, "demo", "tp", unconditional, true);
  CHECK(refused.code == 422);
  CHECK(refused.body["message"] ==
        "TrafficPolicy.weft.io \"tp\" is invalid: metadata.resourceVersion: Invalid value: "
        "0x0: must be specified for an update");
  json conditional = unconditional;
  conditional["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"];
  CHECK(s.store.update(policies, "demo", "tp", conditional, true).code == 200);
}

}  // namespace
}  // namespace weft::test::kube
