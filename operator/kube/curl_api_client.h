#pragma once

// ApiClient over libcurl: HTTPS with the cluster's CA, a bearer token (re-read from its file
// as it rotates) or a client certificate, and streamed watch answers. Each call is a blocking
// transfer on the calling thread (one per reflector); shutdown() wakes them all at once.

#include <curl/curl.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "operator/kube/api_client.h"
#include "operator/kube/cluster_config.h"
#include "operator/kube/token_source.h"

namespace weft::op::kube {

class CurlApiClient : public ApiClient {
 public:
  struct Options {
    absl::Duration connect_timeout = absl::Seconds(10);
    absl::Duration token_reload_period = TokenSource::kDefaultReloadPeriod;
    // A larger answer is refused (a LIST page of 500 large pods is a few MiB).
    size_t max_response_bytes = 256u << 20;
    // A longer watch event is refused (Kubernetes stores objects up to ~1.5 MiB).
    size_t max_event_bytes = 16u << 20;
    std::string user_agent = "weft-operator";
  };

  static absl::StatusOr<std::unique_ptr<CurlApiClient>> create(ClusterConfig config,
                                                               Options options);
  static absl::StatusOr<std::unique_ptr<CurlApiClient>> create(ClusterConfig config) {
    return create(std::move(config), Options());
  }
  ~CurlApiClient() override;

  absl::StatusOr<ApiResponse> send(const ApiRequest& request) override;
  absl::StatusOr<ApiResponse> stream(const ApiRequest& request, const OpenHandler& on_open,
                                     const LineSplitter::LineHandler& on_line) override;
  void shutdown() override;
  const std::string& server() const override { return config_.server; }

 private:
  struct Transfer;

  CurlApiClient(ClusterConfig config, Options options);

  absl::StatusOr<ApiResponse> perform(const ApiRequest& request, const OpenHandler* on_open,
                                      const LineSplitter::LineHandler* on_line);
  absl::Status configure(CURL* easy, const ApiRequest& request, curl_slist** headers,
                         Transfer& transfer);
  // Runs the transfer to its end, or until shutdown(); returns curl's result.
  absl::StatusOr<CURLcode> run(CURL* easy);

  const ClusterConfig config_;
  const Options options_;
  TokenSource tokens_;
  std::mutex mutex_;
  bool shut_down_ = false;                   // guarded by mutex_
  absl::flat_hash_set<CURLM*> in_progress_;  // guarded by mutex_
};

}  // namespace weft::op::kube
