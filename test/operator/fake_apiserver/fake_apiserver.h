#pragma once

// A fake Kubernetes API server for tests: real HTTP/1.1 over TLS on loopback, serving what
// weft uses the way the real one does — LIST (limit/continue) and WATCH (chunked,
// newline-delimited JSON events, bookmarks, 410 Expired as an ERROR event), create / get /
// update / patch / delete, the status subresource, Events, and TokenReview — behind bearer
// token or client certificate authentication (401 otherwise) and an optional deny list
// (403). Storage and watch semantics are in fake_store.h.
//
// Tests drive it directly: store() to write objects, dropWatches() to cut connections,
// compact() to force 410, sendBookmarks(), setAvailable(false) to answer 503, and
// requests() to see what the client asked.
//
// One thread accepts; each connection gets a thread of its own (keep-alive, one request
// after another; a watch holds its connection until it ends).

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/http/request.h"
#include "test/operator/fake_apiserver/fake_store.h"

namespace weft::test::kube {

class FakeApiServer {
 public:
  struct User {
    std::string name{};
    std::string uid{};
    std::vector<std::string> groups{};
    // The audiences a token is valid for; TokenReview checks the ones asked against them.
    std::vector<std::string> audiences = {"https://kubernetes.default.svc"};
  };

  struct RecordedRequest {
    std::string method{};
    std::string path{};
    std::map<std::string, std::string> query{};  // decoded
    std::string user{};                          // empty when not authenticated
    int status = 0;

    bool isWatch() const;
  };

  struct Options {
    size_t history_limit = 1000;
    // Send each watch event in two chunks split mid-line (clients must reassemble lines).
    bool split_events = false;
  };

  struct KeyPair {
    std::string cert_pem;
    std::string key_pem;
  };

  FakeApiServer() : FakeApiServer(Options()) {}
  explicit FakeApiServer(Options options);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // Listens on 127.0.0.1 (a free port) and serves.
  absl::Status start();
  void stop();

  std::string url() const;           // "https://127.0.0.1:<port>"
  const std::string& caPem() const;  // the CA the server's certificate chains to
  // A client certificate for `user` (CN) in `groups` (O), signed by the server's CA.
  KeyPair issueClientCertificate(const std::string& user,
                                 const std::vector<std::string>& groups = {});

  void addToken(const std::string& token, User user);
  void removeToken(const std::string& token);
  // `user` gets 403 for `verb` ("list", "watch", "get", ...) on `plural` ("pods").
  void forbid(const std::string& user, const std::string& verb, const std::string& plural);
  // false: every request is answered 503 (an API server that is up but not serving).
  void setAvailable(bool available);

  FakeStore& store() { return store_; }
  void dropWatches() { store_.dropWatches(); }
  void sendBookmarks() { store_.sendBookmarks(); }
  void compact() { store_.compact(); }

  std::vector<RecordedRequest> requests() const;
  // How many requests matched: LISTs or WATCHes of `plural` (e.g. "pods").
  size_t countLists(const std::string& plural) const;
  size_t countWatches(const std::string& plural) const;
  size_t openWatches() const { return open_watches_.load(); }

  struct Pki;
  struct Connection;

 private:
  void acceptLoop();
  void serve(Connection& connection);
  // Authenticates, answers and records one request; a watch to stream comes back in `watch`.
  Reply respond(const common::http::Request& request, const std::string& body,
                const std::string& certificate_user, std::optional<WatchCursor>& watch);
  Reply handle(const common::http::Request& request, const std::string& body,
               const std::string& user, std::optional<WatchCursor>& watch);
  Reply tokenReview(const std::string& body) const;
  // The user a request is from: its bearer token's, else its client certificate's; "" for
  // none (401).
  std::string authenticate(const common::http::Request& request,
                           const std::string& certificate_user) const;

  const Options options_;
  FakeStore store_;
  std::unique_ptr<Pki> pki_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<int> open_watches_{0};

  mutable std::mutex mutex_;
  bool stopping_ = false;
  bool available_ = true;
  std::map<std::string, User> tokens_;
  std::set<std::string> forbidden_;  // "user verb plural"
  std::vector<RecordedRequest> requests_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace weft::test::kube
