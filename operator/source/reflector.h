#pragma once

// Keeps one resource type's cache in step with the API server, as client-go's Reflector
// does: LIST (paginated) to fill the cache and learn the resourceVersion, then WATCH from
// it. Every event moves the resourceVersion on (a BOOKMARK only does that), so after a
// dropped connection the watch resumes where it stopped, without a new LIST. When the
// server no longer has that version (410 Gone / Expired) it lists again, and the new list
// replaces the cache, so objects deleted meanwhile disappear. Failures are retried with
// exponential backoff and jitter. One thread per reflector.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/util/backoff.h"
#include "operator/kube/api_client.h"
#include "operator/kube/resource_type.h"
#include "operator/model/source_snapshot.h"
#include "operator/source/resource_store.h"

namespace weft::op {

// How a watch ended, and what the reflector does next (pure; see nextStepAfterWatch).
struct WatchEnd {
  std::optional<int> http_status = std::nullopt;        // absent when no answer arrived
  std::optional<kube::ApiStatus> error = std::nullopt;  // an ERROR event ended the stream
  bool broken = false;                                  // the connection broke
  bool unreadable = false;                              // an event could not be parsed
  bool made_progress = false;  // it opened, and events arrived or it lasted a while
};

enum class NextStep {
  kWatch,              // watch again from the last resourceVersion, now
  kWatchAfterBackoff,  // the same, after a backoff delay
  kList,               // the resourceVersion is gone (410): list again
};

NextStep nextStepAfterWatch(const WatchEnd& end);

class Reflector {
 public:
  struct Options {
    std::chrono::milliseconds initial_backoff{800};
    std::chrono::milliseconds max_backoff{30'000};
    // The backoff's jitter, uniform in [0, 1); empty: a random one. Tests inject their own.
    std::function<double()> jitter;
    int page_size = 500;
    // Each watch asks the server to end it after a time drawn from [min, 2 * min), as
    // client-go does, so watches are spread over API server instances over time.
    int min_watch_seconds = 300;
    absl::Duration list_timeout = absl::Seconds(60);
    // A watch that ends sooner than this without an event counts as a failure (backoff),
    // so a server that closes every watch at once is not hammered.
    absl::Duration short_watch = absl::Seconds(1);
  };

  struct Stats {
    bool synced = false;  // the first LIST is done
    bool healthy = true;  // the last list or watch did not fail
    absl::Status last_error{};
    std::string resource_version{};
    size_t objects = 0;
    size_t problems = 0;        // objects that could not be read
    uint64_t lists = 0;         // successful LISTs
    uint64_t relists = 0;       // of them, those after a 410
    uint64_t watches = 0;       // watch requests sent
    uint64_t watch_errors = 0;  // watches that failed or broke
    uint64_t list_errors = 0;
  };

  // Called after the cache may have changed (on the reflector's thread).
  using ChangeCallback = std::function<void()>;
  // Called with each failure, and with OK when it works again after failing.
  using StatusCallback = std::function<void(const absl::Status&)>;

  Reflector(const kube::ResourceType& type, kube::ApiClient& client, Options options,
            ChangeCallback on_change, StatusCallback on_status);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  // Asks the thread to stop; a call in progress ends when the client is shut down.
  void requestStop();
  // requestStop(), then waits for the thread.
  void stop();

  const kube::ResourceType& type() const { return type_; }
  Stats stats() const;
  absl::Status addTo(SourceSnapshotBuilder& builder) const;

 private:
  void run();
  absl::Status listAll();
  absl::Status listPages(std::vector<nlohmann::json>& items, std::string& resource_version);
  // One watch, from the last resourceVersion to its end; reports and backs off itself.
  NextStep watch();
  absl::Status onEvent(absl::string_view line, std::optional<kube::ApiStatus>& error,
                       bool& unreadable);
  // Counts and logs how the watch ended; backs off when `next` says so.
  void reportWatchEnd(NextStep next, const absl::Status& outcome);
  std::string watchPath();
  // Reports `error`, then waits for the backoff delay.
  void failed(const absl::Status& error);
  void succeeded();
  // Waits `delay`, or less when stopping; false when stopping.
  bool sleep(absl::Duration delay);
  bool stopping() const;

  const kube::ResourceType& type_;
  kube::ApiClient& client_;
  const Options options_;
  const ChangeCallback on_change_;
  const StatusCallback on_status_;
  common::Backoff backoff_;  // reflector thread only
  std::minstd_rand random_;  // reflector thread only: watch timeouts
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  ResourceStore store_;
  Stats stats_;
};

}  // namespace weft::op
