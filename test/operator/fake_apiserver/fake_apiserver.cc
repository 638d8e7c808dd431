#include "test/operator/fake_apiserver/fake_apiserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/http/request.h"
#include "common/http/status.h"
#include "common/identity/cert_builder.h"
#include "common/identity/keys.h"
#include "common/identity/pem.h"

namespace weft::test::kube {

namespace identity = common::identity;
using Stream = asio::ssl::stream<asio::ip::tcp::socket>;

// --- TLS: a CA, the server's certificate, client certificates --------------------------------

struct FakeApiServer::Pki {
  identity::EvpPkeyPtr ca_key;
  identity::X509Ptr ca_cert;
  std::string ca_pem;
  asio::ssl::context ssl{asio::ssl::context::tls_server};
};

namespace {

identity::X509Ptr mustBuild(const identity::CertSpec& spec, X509* issuer, EVP_PKEY* key) {
  auto cert = identity::buildCertificate(spec, issuer, key);
  if (!cert.ok()) {
    throw std::runtime_error(std::string(cert.status().message()));
  }
  return *std::move(cert);
}

identity::EvpPkeyPtr mustKey() {
  auto key = identity::generateP256Key();
  if (!key.ok()) {
    throw std::runtime_error(std::string(key.status().message()));
  }
  return *std::move(key);
}

std::unique_ptr<FakeApiServer::Pki> makePki() {
  auto pki = std::make_unique<FakeApiServer::Pki>();
  const absl::Time now = absl::Now();
  pki->ca_key = mustKey();
  pki->ca_cert = mustBuild({.public_key = pki->ca_key.get(),
                            .common_name = "fake-apiserver-ca",
                            .ca = true,
                            .not_before = now - absl::Hours(1),
                            .not_after = now + absl::Hours(24)},
                           nullptr, pki->ca_key.get());
  pki->ca_pem = *identity::certificateToPem(pki->ca_cert.get());
  identity::EvpPkeyPtr server_key = mustKey();
  identity::X509Ptr server_cert = mustBuild({.public_key = server_key.get(),
                                             .common_name = "kube-apiserver",
                                             .dns_sans = {"localhost", "kubernetes.default.svc"},
                                             .ip_sans = {"127.0.0.1"},
                                             .not_before = now - absl::Hours(1),
                                             .not_after = now + absl::Hours(24)},
                                            pki->ca_cert.get(), pki->ca_key.get());
  SSL_CTX* ctx = pki->ssl.native_handle();
  SSL_CTX_use_certificate(ctx, server_cert.get());
  SSL_CTX_use_PrivateKey(ctx, server_key.get());
  // Client certificates are optional (tokens are the other way in); one that is sent must
  // chain to the CA.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), pki->ca_cert.get());
  return pki;
}

// The CN of a verified client certificate, or "".
std::string certificateUser(Stream& stream) {
  SSL* ssl = stream.native_handle();
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return "";
  }
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
  return cn;
}

// --- HTTP ------------------------------------------------------------------------------------

bool writeAll(Stream& stream, absl::string_view data) {
  asio::error_code ec;
  asio::write(stream, asio::buffer(data.data(), data.size()), ec);
  return !ec;
}

bool writeReply(Stream& stream, const Reply& reply) {
  const std::string body = reply.body.dump();
  return writeAll(stream, absl::StrCat("HTTP/1.1 ", common::http::statusLine(reply.code),
                                       "\r\nContent-Type: application/json\r\nContent-Length: ",
                                       body.size(), "\r\n\r\n", body));
}

bool writeChunk(Stream& stream, absl::string_view data) {
  return writeAll(stream, absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n"));
}

std::string percentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int value = 0;
    if (s[i] == '%' && i + 2 < s.size() && absl::SimpleHexAtoi(s.substr(i + 1, 2), &value)) {
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parseQuery(absl::string_view query) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    out[percentDecode(pair.substr(0, eq))] =
        eq == absl::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
  }
  return out;
}

// A request path resolved to a resource type and, within it, an object.
struct Target {
  const FakeResource* resource = nullptr;
  std::string ns;
  std::string name;
  std::string subresource;
};

// /api/v1/[namespaces/<ns>/]<plural>[/<name>[/<subresource>]] and the same under
// /apis/<group>/<version>/.
bool resolve(const FakeStore& store, absl::string_view path, Target& target) {
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  std::string group;
  std::string version;
  size_t at = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    version = parts[1];
    at = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    at = 3;
  } else {
    return false;
  }
  std::vector<std::string> rest(parts.begin() + static_cast<long>(at), parts.end());
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    const FakeResource* inner = store.find(group, version, rest[2]);
    if (inner != nullptr && inner->namespaced) {
      target.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
  }
  if (rest.empty() || rest.size() > 3) {
    return false;
  }
  target.resource = store.find(group, version, rest[0]);
  target.name = rest.size() > 1 ? rest[1] : "";
  target.subresource = rest.size() > 2 ? rest[2] : "";
  return target.resource != nullptr;
}

std::string verbOf(const std::string& method, const Target& target, bool watch) {
  if (method == "GET") {
    return !target.name.empty() ? "get" : watch ? "watch" : "list";
  }
  if (method == "POST") {
    return "create";
  }
  if (method == "PUT") {
    return "update";
  }
  if (method == "PATCH") {
    return "patch";
  }
  if (method == "DELETE") {
    return "delete";
  }
  return "";
}

Reply methodNotAllowed(const std::string& method) {
  return {405, statusBody(405, "MethodNotAllowed",
                          absl::StrCat("the server does not allow this method on the requested "
                                       "resource: ",
                                       method))};
}

}  // namespace

bool FakeApiServer::RecordedRequest::isWatch() const {
  const auto it = query.find("watch");
  return it != query.end() && (it->second == "1" || it->second == "true");
}

struct FakeApiServer::Connection {
  std::thread thread;
  int fd = -1;
  std::atomic<bool> done{false};
};

// --- the server ------------------------------------------------------------------------------

FakeApiServer::FakeApiServer(Options options)
    : options_(options), store_(options.history_limit), pki_(makePki()) {
  // The built-in types and the weft CRDs, as a cluster with weft installed serves them.
  store_.addResource({"", "v1", "namespaces", "Namespace", false, true, true});
  store_.addResource({"", "v1", "pods", "Pod", true, true, true});
  store_.addResource({"", "v1", "services", "Service", true, true, true});
  store_.addResource({"", "v1", "events", "Event", true, false, true});
  store_.addResource(
      {"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, false, true});
  store_.addResource({"events.k8s.io", "v1", "events", "Event", true, false, true});
  for (const auto& [plural, kind] : {std::pair{"trafficpolicies", "TrafficPolicy"},
                                     std::pair{"authorizationpolicies", "AuthorizationPolicy"},
                                     std::pair{"peerauthentications", "PeerAuthentication"}}) {
    store_.addResource({"weft.io", "v1alpha1", plural, kind, true, true, false});
  }
}

FakeApiServer::~FakeApiServer() {
  stop();
}

absl::Status FakeApiServer::start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::InternalError(absl::StrCat("fake API server: ", std::strerror(errno)));
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
  return absl::OkStatus();
}

void FakeApiServer::stop() {
  if (!acceptor_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& connection : connections_) {
      ::shutdown(connection->fd, SHUT_RDWR);  // wakes a thread blocked reading
    }
  }
  store_.shutdown();                  // wakes the watches
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listen_fd_);
  for (const auto& connection : connections_) {
    connection->thread.join();
  }
  connections_.clear();
}

std::string FakeApiServer::url() const {
  return absl::StrCat("https://127.0.0.1:", port_);
}

const std::string& FakeApiServer::caPem() const {
  return pki_->ca_pem;
}

FakeApiServer::KeyPair FakeApiServer::issueClientCertificate(
    const std::string& user, const std::vector<std::string>& groups) {
  identity::EvpPkeyPtr key = mustKey();
  const absl::Time now = absl::Now();
  identity::X509Ptr cert = mustBuild({.public_key = key.get(),
                                      .common_name = user,
                                      .organization = groups.empty() ? "" : groups.front(),
                                      .not_before = now - absl::Hours(1),
                                      .not_after = now + absl::Hours(24)},
                                     pki_->ca_cert.get(), pki_->ca_key.get());
  return {*identity::certificateToPem(cert.get()), *identity::privateKeyToPem(key.get())};
}

void FakeApiServer::addToken(const std::string& token, User user) {
  std::lock_guard lock(mutex_);
  tokens_[token] = std::move(user);
}

void FakeApiServer::removeToken(const std::string& token) {
  std::lock_guard lock(mutex_);
  tokens_.erase(token);
}

void FakeApiServer::forbid(const std::string& user, const std::string& verb,
                           const std::string& plural) {
  std::lock_guard lock(mutex_);
  forbidden_.insert(absl::StrCat(user, " ", verb, " ", plural));
}

void FakeApiServer::setAvailable(bool available) {
  std::lock_guard lock(mutex_);
  available_ = available;
}

std::vector<FakeApiServer::RecordedRequest> FakeApiServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t FakeApiServer::countLists(const std::string& plural) const {
  size_t count = 0;
  for (const RecordedRequest& r : requests()) {
    count += r.method == "GET" && !r.isWatch() && absl::EndsWith(r.path, "/" + plural) ? 1 : 0;
  }
  return count;
}

size_t FakeApiServer::countWatches(const std::string& plural) const {
  size_t count = 0;
  for (const RecordedRequest& r : requests()) {
    count += r.method == "GET" && r.isWatch() && absl::EndsWith(r.path, "/" + plural) ? 1 : 0;
  }
  return count;
}

void FakeApiServer::acceptLoop() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (fd >= 0) {
        ::close(fd);
      }
      return;
    }
    if (fd < 0) {
      continue;  // EINTR, ECONNABORTED: try again
    }
    // Threads of connections that ended are joined here, so they do not pile up.
    std::erase_if(connections_, [](const std::unique_ptr<Connection>& c) {
      if (!c->done.load()) {
        return false;
      }
      c->thread.join();
      return true;
    });
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    Connection* raw = connection.get();
    connection->thread = std::thread([this, raw] {
      serve(*raw);
      raw->done.store(true);
    });
    connections_.push_back(std::move(connection));
  }
}

namespace {

// Streams a watch until it ends. False when the connection must close: the watch was
// dropped (the client sees the connection cut, with no final chunk) or a write failed.
bool streamWatch(Stream& stream, FakeStore& store, WatchCursor& cursor, bool split_events) {
  if (!writeAll(stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")) {
    return false;
  }
  std::vector<std::string> lines;
  WatchEndReason reason = WatchEndReason::kTimeout;
  while (store.nextEvents(cursor, lines, reason)) {
    for (const std::string& line : lines) {
      const std::string event = line + "\n";
      const size_t cut = split_events ? event.size() / 2 : event.size();
      if (!writeChunk(stream, absl::string_view(event).substr(0, cut)) ||
          (cut < event.size() && !writeChunk(stream, absl::string_view(event).substr(cut)))) {
        return false;
      }
    }
    lines.clear();
  }
  if (reason == WatchEndReason::kDropped || reason == WatchEndReason::kShutdown) {
    return false;
  }
  return writeAll(stream, "0\r\n\r\n");  // the server ended the watch cleanly
}

}  // namespace

std::string FakeApiServer::authenticate(const common::http::Request& request,
                                        const std::string& certificate_user) const {
  const absl::string_view authorization = request.header("authorization");
  std::lock_guard lock(mutex_);
  if (absl::StartsWith(authorization, "Bearer ")) {
    const auto it = tokens_.find(std::string(authorization.substr(7)));
    return it == tokens_.end() ? "" : it->second.name;
  }
  return certificate_user;
}

Reply FakeApiServer::tokenReview(const std::string& body) const {
  const json review = json::parse(body, nullptr, false);
  if (!review.is_object() || !review.contains("spec") || !review["spec"].is_object()) {
    return {400, statusBody(400, "BadRequest", "a TokenReview needs a spec")};
  }
  const std::string token = review["spec"].value("token", "");
  const std::vector<std::string> asked =
      review["spec"].value("audiences", std::vector<std::string>());
  json status = {{"authenticated", false}};
  std::lock_guard lock(mutex_);
  const auto it = tokens_.find(token);
  if (it == tokens_.end()) {
    status["error"] = "[invalid bearer token, token lookup failed]";
  } else {
    std::vector<std::string> audiences;
    for (const std::string& audience : asked.empty() ? it->second.audiences : asked) {
      if (std::find(it->second.audiences.begin(), it->second.audiences.end(), audience) !=
          it->second.audiences.end()) {
        audiences.push_back(audience);
      }
    }
    if (audiences.empty()) {
      status["error"] = "[invalid bearer token, token audiences are invalid]";
    } else {
      status = {
          {"authenticated", true},
          {"user",
           {{"username", it->second.name}, {"uid", it->second.uid}, {"groups", it->second.groups}}},
          {"audiences", audiences}};
    }
  }
  json answer = review;
  answer["apiVersion"] = "authentication.k8s.io/v1";
  answer["kind"] = "TokenReview";
  answer["status"] = status;
  return {201, answer};
}

Reply FakeApiServer::respond(const common::http::Request& request, const std::string& body,
                             const std::string& certificate_user,
                             std::optional<WatchCursor>& watch) {
  RecordedRequest record{.method = request.method,
                         .path = request.path,
                         .query = parseQuery(request.query),
                         .user = authenticate(request, certificate_user)};
  Reply reply;
  bool available = true;
  {
    std::lock_guard lock(mutex_);
    available = available_;
  }
  if (record.user.empty()) {
    reply = {401, statusBody(401, "Unauthorized", "Unauthorized")};
  } else if (!available) {
    reply = {503, statusBody(503, "ServiceUnavailable", "the fake API server is unavailable")};
  } else {
    reply = handle(request, body, record.user, watch);
  }
  record.status = reply.code;
  std::lock_guard lock(mutex_);
  requests_.push_back(std::move(record));
  return reply;
}

Reply FakeApiServer::handle(const common::http::Request& request, const std::string& body,
                            const std::string& user, std::optional<WatchCursor>& watch) {
  if (request.path == "/apis/authentication.k8s.io/v1/tokenreviews") {
    return request.method == "POST" ? tokenReview(body) : methodNotAllowed(request.method);
  }
  Target target;
  if (!resolve(store_, request.path, target)) {
    return {404, statusBody(404, "NotFound", "the server could not find the requested resource")};
  }
  const std::map<std::string, std::string> query = parseQuery(request.query);
  const auto param = [&](const char* key) {
    const auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  const bool is_watch = param("watch") == "1" || param("watch") == "true";
  const std::string verb = verbOf(request.method, target, is_watch);
  const FakeResource& resource = *target.resource;
  {
    std::lock_guard lock(mutex_);
    if (forbidden_.contains(absl::StrCat(user, " ", verb, " ", resource.plural))) {
      return {403, statusBody(403, "Forbidden",
                              absl::StrCat(resource.plural, " is forbidden: User \"", user,
                                           "\" cannot ", verb, " resource \"", resource.plural,
                                           "\" in API group \"", resource.group, "\" ",
                                           target.ns.empty() ? "at the cluster scope"
                                                             : absl::StrCat("in the namespace \"",
                                                                            target.ns, "\"")))};
    }
  }
  if (!target.subresource.empty() &&
      (target.subresource != "status" || !resource.status_subresource)) {
    return {404, statusBody(404, "NotFound", "the server could not find the requested resource")};
  }
  const bool status_only = target.subresource == "status";
  const json object = json::parse(body.empty() ? "{}" : body, nullptr, false);
  if ((request.method == "POST" || request.method == "PUT") && !object.is_object()) {
    return {400, statusBody(400, "BadRequest", "the body is not a JSON object")};
  }
  if (verb == "list") {
    ListOptions list{.continue_token = param("continue"),
                     .resource_version = param("resourceVersion"),
                     .resource_version_match = param("resourceVersionMatch")};
    if (!param("limit").empty() && !absl::SimpleAtoi(param("limit"), &list.limit)) {
      return {400, statusBody(400, "BadRequest", "limit: not a number")};
    }
    return store_.list(resource, target.ns, list);
  }
  if (verb == "watch") {
    int timeout = 1800;  // the real default is 30 to 60 minutes
    if (!param("timeoutSeconds").empty() && !absl::SimpleAtoi(param("timeoutSeconds"), &timeout)) {
      return {400, statusBody(400, "BadRequest", "timeoutSeconds: not a number")};
    }
    watch.emplace();
    watch->resource = &resource;
    watch->namespace_name = target.ns;
    watch->bookmarks =
        param("allowWatchBookmarks") == "true" || param("allowWatchBookmarks") == "1";
    watch->deadline = absl::Now() + absl::Seconds(timeout);
    Reply opened = store_.openWatch(*watch, param("resourceVersion"));
    if (opened.code != 200) {
      watch.reset();
    }
    return opened;
  }
  if (verb == "get") {
    return store_.get(resource, target.ns, target.name);
  }
  if (verb == "create" && target.name.empty() && !status_only) {
    return store_.create(resource, target.ns, object);
  }
  if (verb == "update" && !target.name.empty()) {
    return store_.update(resource, target.ns, target.name, object, status_only);
  }
  if (verb == "patch" && !target.name.empty()) {
    return store_.patch(resource, target.ns, target.name,
                        std::string(request.header("content-type")), body, status_only);
  }
  if (verb == "delete" && !target.name.empty() && !status_only) {
    return store_.remove(resource, target.ns, target.name);
  }
  return methodNotAllowed(request.method);
}

void FakeApiServer::serve(Connection& connection) {
  asio::io_context io;
  Stream stream(io, pki_->ssl);
  asio::error_code ec;
  stream.lowest_layer().assign(asio::ip::tcp::v4(), connection.fd, ec);
  if (!ec) {
    stream.handshake(asio::ssl::stream_base::server, ec);
  }
  const std::string certificate_user = ec ? "" : certificateUser(stream);
  std::string buffer;
  char chunk[16 * 1024];
  while (!ec) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos && !ec &&
           buffer.size() < 64 * 1024) {
      buffer.append(chunk, stream.read_some(asio::buffer(chunk), ec));
    }
    if (head_end == std::string::npos) {
      break;
    }
    auto parsed = common::http::parseRequestHead(absl::string_view(buffer).substr(0, head_end + 4));
    auto* request = std::get_if<common::http::Request>(&parsed);
    size_t length = 0;
    if (request == nullptr || (!request->header("content-length").empty() &&
                               !absl::SimpleAtoi(request->header("content-length"), &length))) {
      writeReply(stream, {400, statusBody(400, "BadRequest", "a malformed request")});
      break;
    }
    while (buffer.size() < head_end + 4 + length && !ec) {
      buffer.append(chunk, stream.read_some(asio::buffer(chunk), ec));
    }
    if (ec) {
      break;
    }
    const std::string body = buffer.substr(head_end + 4, length);
    buffer.erase(0, head_end + 4 + length);
    std::optional<WatchCursor> watch;
    const Reply reply = respond(*request, body, certificate_user, watch);
    if (!watch.has_value()) {
      if (!writeReply(stream, reply) ||
          absl::EqualsIgnoreCase(request->header("connection"), "close")) {
        break;
      }
      continue;
    }
    ++open_watches_;
    const bool keep_alive = streamWatch(stream, store_, *watch, options_.split_events);
    --open_watches_;
    if (!keep_alive) {
      break;
    }
  }
  // A cut, not a close_notify: for a dropped watch the client must see a broken connection.
  ::shutdown(connection.fd, SHUT_RDWR);
}

}  // namespace weft::test::kube
