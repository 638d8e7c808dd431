// The libcurl client against the fake API server, over real TLS on loopback: authentication
// (tokens, token files, client certificates), TLS verification, the generic request (status
// subresource, Events, TokenReview), and streamed watches.

#include "operator/kube/curl_api_client.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/resource_type.h"
#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/wait_for.h"
#include "test/operator/fake_apiserver/fake_apiserver.h"
#include "test/operator/fake_apiserver/test_objects.h"

namespace weft::op::kube {
namespace {

using nlohmann::json;
using test::waitFor;
using test::kube::FakeApiServer;

constexpr char kToken[] = "operator-token";

struct Fixture {
  explicit Fixture(FakeApiServer::Options options = {}) : server(options) {
    REQUIRE(server.start().ok());
    server.addToken(kToken, {.name = "system:serviceaccount:weft:operator", .uid = "u1"});
  }
  ClusterConfig config(std::string token = kToken) const {
    return {.server = server.url(), .ca_pem = server.caPem(), .token = std::move(token)};
  }
  std::unique_ptr<CurlApiClient> client(ClusterConfig config) const {
    auto client = CurlApiClient::create(std::move(config));
    INFO(client.status().ToString());
    REQUIRE(client.ok());
    return *std::move(client);
  }
  std::unique_ptr<CurlApiClient> client() const { return client(config()); }

  FakeApiServer server;
};

ApiResponse send(ApiClient& client, ApiRequest request) {
  auto response = client.send(request);
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  return *std::move(response);
}

json bodyOf(const ApiResponse& response) {
  return json::parse(response.body);
}

TEST_CASE("requests go over TLS with the bearer token; a wrong token gets 401") {
  Fixture f;
  auto client = f.client();
  ApiResponse created =
      send(*client, {.method = "POST",
                     .path = kPods.collectionPath("demo"),
                     .body = test::kube::podJson("a", "demo", "n1", "10.0.0.1").dump()});
  CHECK(created.status == 201);
  ApiResponse listed = send(*client, {.path = kPods.collectionPath()});
  CHECK(listed.status == 200);
  CHECK(bodyOf(listed)["items"][0]["metadata"]["name"] == "a");
  CHECK(f.server.requests().back().user == "system:serviceaccount:weft:operator");

  auto stranger = f.client(f.config("wrong"));
  const ApiRequest request{.path = kPods.collectionPath()};
  ApiResponse refused = send(*stranger, request);
  CHECK(refused.status == 401);
  const absl::Status error = responseError(request, refused);
  CHECK(error.code() == absl::StatusCode::kUnauthenticated);
  CHECK(error.message() == "GET /api/v1/pods: 401 Unauthorized: Unauthorized");
}

TEST_CASE("a token file is read again after a 401, so a rotated token is used") {
  Fixture f;
  test::TempDir dir;
  const std::string path = dir.path() + "/token";
  std::ofstream(path) << "expired-token";
  ClusterConfig config = f.config("");
  config.token_file = path;
  auto client = CurlApiClient::create(config, {.token_reload_period = absl::Hours(1)});
  REQUIRE(client.ok());
  CHECK(send(**client, {.path = kPods.collectionPath()}).status == 401);
  std::ofstream(path) << kToken;
  CHECK(send(**client, {.path = kPods.collectionPath()}).status == 200);
}

TEST_CASE("a client certificate authenticates as its common name") {
  Fixture f;
  const FakeApiServer::KeyPair pair = f.server.issueClientCertificate("alice", {"admins"});
  ClusterConfig config = f.config("");
  config.client_cert_pem = pair.cert_pem;
  config.client_key_pem = pair.key_pem;
  auto client = f.client(config);
  CHECK(send(*client, {.path = kNamespaces.collectionPath()}).status == 200);
  CHECK(f.server.requests().back().user == "alice");
}

TEST_CASE("the server's certificate must chain to the cluster CA") {
  Fixture f;
  FakeApiServer other;  // another CA
  ClusterConfig config = f.config();
  config.ca_pem = other.caPem();
  auto client = f.client(config);
  auto response = client->send({.path = kPods.collectionPath()});
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(response.status().message()),
             Catch::StartsWith("GET " + f.server.url() + "/api/v1/pods: SSL peer certificate"));

  config.insecure_skip_tls_verify = true;
  CHECK(send(*f.client(config), {.path = kPods.collectionPath()}).status == 200);
}

TEST_CASE("an unreachable server is an error that names it") {
  auto client = CurlApiClient::create({.server = "https://127.0.0.1:1", .token = "t"});
  REQUIRE(client.ok());
  auto response = (*client)->send({.path = "/api/v1/pods"});
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(response.status().message()),
             Catch::StartsWith("GET https://127.0.0.1:1/api/v1/pods: Couldn't connect to server"));
  CHECK_FALSE(CurlApiClient::create({.server = ""}).ok());
}

TEST_CASE("403 says who may not do what") {
  Fixture f;
  f.server.forbid("system:serviceaccount:weft:operator", "list", "pods");
  const ApiRequest request{.path = kPods.collectionPath()};
  const absl::Status error = responseError(request, send(*f.client(), request));
  CHECK(error.code() == absl::StatusCode::kPermissionDenied);
  CHECK(error.message() ==
        "GET /api/v1/pods: 403 Forbidden: pods is forbidden: User "
        "\"system:serviceaccount:weft:operator\" cannot list resource \"pods\" in API group \"\" "
        "at the cluster scope");
}

TEST_CASE("the status subresource changes only the status and moves the resourceVersion") {
  Fixture f;
  auto client = f.client();
  json policy = test::kube::trafficPolicyJson("tp", "demo");
  policy["status"] = {{"note", "dropped on create"}};
  const json created = bodyOf(send(
      *client,
      {.method = "POST", .path = kTrafficPolicies.collectionPath("demo"), .body = policy.dump()}));
  CHECK_FALSE(created.contains("status"));
  CHECK(created["metadata"]["generation"] == 1);
  const std::string status_path = kTrafficPolicies.objectPath("demo", "tp", "status");

  json put = created;
  put["spec"]["retries"] = 9;  // ignored through /status
  put["status"] = {{"conditions", {{{"type", "Accepted"}, {"status", "True"}}}}};
  const json after_put =
      bodyOf(send(*client, {.method = "PUT", .path = status_path, .body = put.dump()}));
  CHECK(after_put["spec"]["retries"] == 3);
  CHECK(after_put["status"]["conditions"][0]["type"] == "Accepted");
  CHECK(after_put["metadata"]["generation"] == 1);
  CHECK(std::stoll(after_put["metadata"]["resourceVersion"].get<std::string>()) >
        std::stoll(created["metadata"]["resourceVersion"].get<std::string>()));

  const json after_patch = bodyOf(send(*client, {.method = "PATCH",
                                                 .path = status_path,
                                                 .body = R"({"status":{"observedGeneration":1}})",
                                                 .content_type = "application/merge-patch+json"}));
  CHECK(after_patch["status"]["observedGeneration"] == 1);
  CHECK(after_patch["status"]["conditions"][0]["type"] == "Accepted");

  // A stale resourceVersion is a conflict, as for any update.
  const ApiRequest stale{.method = "PUT", .path = status_path, .body = put.dump()};
  const absl::Status conflict = responseError(stale, send(*client, stale));
  CHECK(conflict.code() == absl::StatusCode::kAborted);
  CHECK_THAT(std::string(conflict.message()), Catch::Contains("the object has been modified"));

  // An update of the object keeps the status and counts a new generation.
  json spec_change = after_patch;
  spec_change["spec"]["retries"] = 5;
  spec_change.erase("status");
  const json updated = bodyOf(send(*client, {.method = "PUT",
                                             .path = kTrafficPolicies.objectPath("demo", "tp"),
                                             .body = spec_change.dump()}));
  CHECK(updated["metadata"]["generation"] == 2);
  CHECK(updated["status"]["observedGeneration"] == 1);
  CHECK(send(*client, {.method = "PATCH",
                       .path = status_path,
                       .body = "{}",
                       .content_type = "application/apply-patch+yaml"})
            .status == 415);
}

TEST_CASE("an Event is created with POST, its name generated") {
  Fixture f;
  auto client = f.client();
  const json event = {{"apiVersion", "v1"},
                      {"kind", "Event"},
                      {"metadata", {{"generateName", "tp."}, {"namespace", "demo"}}},
                      {"involvedObject", {{"kind", "TrafficPolicy"}, {"name", "tp"}}},
                      {"reason", "Invalid"},
                      {"message", "spec.retries: must be 0..10"},
                      {"type", "Warning"}};
  ApiResponse created = send(
      *client, {.method = "POST", .path = "/api/v1/namespaces/demo/events", .body = event.dump()});
  CHECK(created.status == 201);
  CHECK_THAT(bodyOf(created)["metadata"]["name"].get<std::string>(), Catch::StartsWith("tp."));
  CHECK(bodyOf(send(*client, {.path = "/api/v1/namespaces/demo/events"}))["items"].size() == 1);
}

TEST_CASE("TokenReview answers from the server's tokens and their audiences") {
  Fixture f;
  f.server.addToken("agent-token", {.name = "system:serviceaccount:weft:agent",
                                    .uid = "u2",
                                    .groups = {"system:serviceaccounts"},
                                    .audiences = {"weft"}});
  auto client = f.client();
  auto review = [&](const std::string& token, const std::string& audience) {
    const json body = {{"apiVersion", "authentication.k8s.io/v1"},
                       {"kind", "TokenReview"},
                       {"spec", {{"token", token}, {"audiences", {audience}}}}};
    ApiResponse response = send(*client, {.method = "POST",
                                          .path = "/apis/authentication.k8s.io/v1/tokenreviews",
                                          .body = body.dump()});
    CHECK(response.status == 201);
    return bodyOf(response)["status"];
  };
  const json accepted = review("agent-token", "weft");
  CHECK(accepted["authenticated"] == true);
  CHECK(accepted["user"]["username"] == "system:serviceaccount:weft:agent");
  CHECK(accepted["user"]["groups"][0] == "system:serviceaccounts");
  CHECK(accepted["audiences"][0] == "weft");
  CHECK(review("agent-token", "other")["authenticated"] == false);
  CHECK(review("forged", "weft")["authenticated"] == false);
}

// Collects the lines of a watch running on a thread of its own.
class WatchRun {
 public:
  WatchRun(ApiClient& client, std::string path)
      : thread_([this, &client, path] {
          auto result = client.stream(
              {.path = path}, [this](int status) { opened_ = status; },
              [this](absl::string_view line) {
                std::lock_guard lock(mutex_);
                lines_.emplace_back(line);
                return absl::OkStatus();
              });
          std::lock_guard lock(mutex_);
          result_ = std::move(result);
          done_ = true;
        }) {}
  ~WatchRun() { thread_.join(); }

  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool done() {
    std::lock_guard lock(mutex_);
    return done_;
  }
  absl::StatusOr<ApiResponse> result() {
    std::lock_guard lock(mutex_);
    return result_;
  }
  int opened() const { return opened_.load(); }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
  bool done_ = false;
  absl::StatusOr<ApiResponse> result_ = absl::UnknownError("running");
  std::atomic<int> opened_{0};
  std::thread thread_;
};

TEST_CASE("a watch streams each event as a line, even split across chunks, until dropped") {
  Fixture f(FakeApiServer::Options{.split_events = true});
  auto client = f.client();
  const uint64_t from = f.server.store().resourceVersion();
  WatchRun watch(*client, kPods.collectionPath() + "?watch=1&resourceVersion=" +
                              std::to_string(from) + "&allowWatchBookmarks=true");
  REQUIRE(waitFor([&] { return watch.opened() == 200; }));
  f.server.store().apply(test::kube::podJson("a", "demo", "n1", "10.0.0.1"));
  f.server.sendBookmarks();
  REQUIRE(waitFor([&] { return watch.lines().size() == 2; }));
  CHECK(json::parse(watch.lines()[0])["type"] == "ADDED");
  CHECK(json::parse(watch.lines()[1])["type"] == "BOOKMARK");
  f.server.dropWatches();
  REQUIRE(waitFor([&] { return watch.done(); }));
  REQUIRE_FALSE(watch.result().ok());
  CHECK(watch.result().status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("a watch the server ends returns its status; a too old version gets 410 in-band") {
  Fixture f;
  auto client = f.client();
  {
    WatchRun watch(*client, kPods.collectionPath() + "?watch=1&resourceVersion=" +
                                std::to_string(f.server.store().resourceVersion()) +
                                "&timeoutSeconds=1");
    REQUIRE(waitFor([&] { return watch.done(); }));
    REQUIRE(watch.result().ok());
    CHECK(watch.result()->status == 200);
  }
  const uint64_t old = f.server.store().resourceVersion();
  f.server.store().apply(test::kube::podJson("a", "demo", "n1", "10.0.0.1"));
  f.server.compact();
  WatchRun watch(*client,
                 kPods.collectionPath() + "?watch=1&resourceVersion=" + std::to_string(old));
  REQUIRE(waitFor([&] { return watch.done(); }));
  REQUIRE(watch.lines().size() == 1);
  auto event = parseWatchEvent(watch.lines()[0]);
  REQUIRE(event.ok());
  CHECK(event->type == EventType::kError);
  auto status = apiStatusFromJson(event->object);
  REQUIRE(status.ok());
  CHECK(status->code == 410);
  CHECK(status->reason == "Expired");
  CHECK(status->message ==
        "too old resource version: " + std::to_string(old) + " (" + std::to_string(old + 1) + ")");
}

TEST_CASE("a list at a version the server has compacted away is 410 Gone") {
  Fixture f;
  auto client = f.client();
  f.server.store().apply(test::kube::podJson("a", "demo", "n1", "10.0.0.1"));
  const std::string old = std::to_string(f.server.store().resourceVersion());
  f.server.store().apply(test::kube::podJson("b", "demo", "n1", "10.0.0.1"));
  const std::string path =
      kPods.collectionPath("demo") + "?" +
      queryString({{"resourceVersion", old}, {"resourceVersionMatch", "Exact"}});
  const json then = bodyOf(send(*client, {.path = path}));
  CHECK(then["items"].size() == 1);
  CHECK(then["metadata"]["resourceVersion"] == old);

  f.server.compact();
  const ApiRequest request{.path = path};
  const ApiResponse gone = send(*client, request);
  CHECK(gone.status == 410);
  CHECK(isExpired(apiStatusFromBody(gone.status, gone.body)));
  CHECK(responseError(request, gone).message() ==
        "GET " + path + ": 410 Gone: The resourceVersion for the provided list is too old.");
}

TEST_CASE("shutdown ends a watch in progress, and every later call") {
  Fixture f;
  auto client = f.client();
  WatchRun watch(*client, kPods.collectionPath() + "?watch=1&resourceVersion=" +
                              std::to_string(f.server.store().resourceVersion()));
  REQUIRE(waitFor([&] { return f.server.openWatches() == 1; }));
  client->shutdown();
  REQUIRE(waitFor([&] { return watch.done(); }));
  CHECK(watch.result().status().code() == absl::StatusCode::kCancelled);
  CHECK(client->send({.path = kPods.collectionPath()}).status().code() ==
        absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace weft::op::kube
