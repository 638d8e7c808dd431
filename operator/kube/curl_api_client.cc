#include "operator/kube/curl_api_client.h"

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace weft::op::kube {

namespace {

// libcurl's global state is set up once per process, before the first handle.
void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

long millis(absl::Duration d) {
  return static_cast<long>(absl::ToInt64Milliseconds(d));
}

curl_blob blobOf(const std::string& data) {
  return curl_blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

// What the write callback fills in for one call.
struct CurlApiClient::Transfer {
  CURL* easy = nullptr;
  const OpenHandler* on_open = nullptr;
  const LineSplitter::LineHandler* on_line = nullptr;  // null: collect the whole body
  LineSplitter lines;
  size_t max_body_bytes = 0;
  ApiResponse response{};
  absl::Status stopped{};  // why the write callback ended the transfer

  static size_t onData(char* data, size_t size, size_t count, void* self) {
    return static_cast<Transfer*>(self)->take(absl::string_view(data, size * count));
  }

  // The head ends with an empty line; 1xx heads (100 Continue) are not the answer's.
  static size_t onHeader(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<Transfer*>(self);
    const absl::string_view line(data, size * count);
    if ((line == "\r\n" || line == "\n") && transfer->on_open != nullptr) {
      long code = 0;
      curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &code);
      if (code >= 200) {
        (*transfer->on_open)(static_cast<int>(code));
      }
    }
    return size * count;
  }

  size_t take(absl::string_view data) {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    if (on_line != nullptr && code >= 200 && code < 300) {
      stopped = lines.feed(data, *on_line);
      return stopped.ok() ? data.size() : 0;
    }
    if (response.body.size() + data.size() > max_body_bytes) {
      stopped = absl::ResourceExhaustedError(
          absl::StrCat("the answer is larger than ", max_body_bytes, " bytes"));
      return 0;
    }
    response.body.append(data.data(), data.size());
    return data.size();
  }
};

absl::StatusOr<std::unique_ptr<CurlApiClient>> CurlApiClient::create(ClusterConfig config,
                                                                     Options options) {
  initCurlOnce();
  if (config.server.empty()) {
    return absl::InvalidArgumentError("no API server address");
  }
  auto client = std::unique_ptr<CurlApiClient>(new CurlApiClient(std::move(config), options));
  // A token file that cannot be read is a start-up error, not a failure of every request.
  RETURN_IF_ERROR(client->tokens_.token().status());
  return client;
}

CurlApiClient::CurlApiClient(ClusterConfig config, Options options)
    : config_(std::move(config)),
      options_(std::move(options)),
      tokens_(config_.token, config_.token_file, options_.token_reload_period) {}

CurlApiClient::~CurlApiClient() {
  shutdown();
}

absl::StatusOr<ApiResponse> CurlApiClient::send(const ApiRequest& request) {
  return perform(request, nullptr, nullptr);
}

absl::StatusOr<ApiResponse> CurlApiClient::stream(const ApiRequest& request,
                                                  const OpenHandler& on_open,
                                                  const LineSplitter::LineHandler& on_line) {
  return perform(request, &on_open, &on_line);
}

void CurlApiClient::shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (CURLM* multi : in_progress_) {
    curl_multi_wakeup(multi);
  }
}

absl::Status CurlApiClient::configure(CURL* easy, const ApiRequest& request, curl_slist** headers,
                                      Transfer& transfer) {
  ASSIGN_OR_RETURN(const std::string token, tokens_.token());
  const std::string url = config_.server + request.path;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());  // curl copies option strings
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: we are one thread of many
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, millis(options_.connect_timeout));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, millis(request.timeout));
  // A watch can be quiet for minutes; keepalives notice a peer that vanished.
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
  if (!config_.ca_pem.empty()) {
    curl_blob ca = blobOf(config_.ca_pem);
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config_.client_cert_pem.empty()) {
    curl_blob cert = blobOf(config_.client_cert_pem);
    curl_blob key = blobOf(config_.client_key_pem);
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  }
  *headers = curl_slist_append(*headers, "Accept: application/json");
  *headers = curl_slist_append(*headers, "Expect:");  // no 100-continue round trip
  if (!token.empty()) {
    *headers = curl_slist_append(*headers, absl::StrCat("Authorization: Bearer ", token).c_str());
  }
  if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty()) {
    *headers =
        curl_slist_append(*headers, absl::StrCat("Content-Type: ", request.content_type).c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::onData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  return absl::OkStatus();
}

absl::StatusOr<CURLcode> CurlApiClient::run(CURL* easy) {
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (multi == nullptr || curl_multi_add_handle(multi.get(), easy) != CURLM_OK) {
    return absl::InternalError("curl: cannot start a transfer");
  }
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
      curl_multi_remove_handle(multi.get(), easy);
      return absl::CancelledError("the client is shutting down");
    }
    in_progress_.insert(multi.get());
  }
  bool cancelled = false;
  int running = 1;
  CURLMcode mc = CURLM_OK;
  while (mc == CURLM_OK) {
    mc = curl_multi_perform(multi.get(), &running);
    if (mc != CURLM_OK || running == 0) {
      break;
    }
    {
      std::lock_guard lock(mutex_);
      cancelled = shut_down_;
    }
    if (cancelled) {
      break;
    }
    mc = curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
  }
  {
    std::lock_guard lock(mutex_);
    in_progress_.erase(multi.get());
  }
  CURLcode result = CURLE_OK;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
    if (message->msg == CURLMSG_DONE) {
      result = message->data.result;
    }
  }
  curl_multi_remove_handle(multi.get(), easy);
  if (cancelled) {
    return absl::CancelledError("the client is shutting down");
  }
  if (mc != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl: ", curl_multi_strerror(mc)));
  }
  return result;
}

absl::StatusOr<ApiResponse> CurlApiClient::perform(const ApiRequest& request,
                                                   const OpenHandler* on_open,
                                                   const LineSplitter::LineHandler* on_line) {
  const std::string what = absl::StrCat(request.method, " ", config_.server, request.path);
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (easy == nullptr) {
    return absl::InternalError(absl::StrCat(what, ": curl: cannot create a handle"));
  }
  Transfer transfer{.easy = easy.get(),
                    .on_open = on_open,
                    .on_line = on_line,
                    .lines = LineSplitter(options_.max_event_bytes),
                    .max_body_bytes = options_.max_response_bytes};
  curl_slist* raw_headers = nullptr;
  const absl::Status configured = configure(easy.get(), request, &raw_headers, transfer);
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);
  if (!configured.ok()) {
    return absl::Status(configured.code(), absl::StrCat(what, ": ", configured.message()));
  }
  char error_buffer[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, error_buffer);
  ASSIGN_OR_RETURN(const CURLcode result, run(easy.get()));
  if (!transfer.stopped.ok()) {
    // The line handler's own error, or an answer over the limit.
    return absl::Status(transfer.stopped.code(),
                        absl::StrCat(what, ": ", transfer.stopped.message()));
  }
  if (result != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(what, ": ", curl_easy_strerror(result),
                                               *error_buffer != '\0' ? ": " : "", error_buffer));
  }
  long code = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &code);
  transfer.response.status = static_cast<int>(code);
  if (code == 401) {
    tokens_.invalidate();  // perhaps rotated: read the file again before the next request
  }
  return std::move(transfer.response);
}

}  // namespace weft::op::kube
