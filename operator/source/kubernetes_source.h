#pragma once

// Kubernetes mode: one reflector (list + watch, reflector.h) per resource type weft reads —
// Namespaces, Pods, Services, EndpointSlices and the weft.io CRDs — each keeping its part of
// an in-memory cache. Once every type has been listed, each change to the cache rebuilds the
// snapshot after a short quiet period, and a snapshot that differs from the last one goes to
// the callback, exactly as in directory mode. Until then nothing is published: a partial
// view (services but no pods yet) would be a wrong config.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operator/kube/api_client.h"
#include "operator/kube/resource_type.h"
#include "operator/source/reflector.h"
#include "operator/source/source.h"

namespace weft::op {

class KubernetesSource : public Source {
 public:
  struct Options {
    Reflector::Options reflector;
    // Changes are published once the cache has been quiet this long, and at the latest after
    // 10 times as long (a rollout is a burst of events).
    absl::Duration debounce = absl::Milliseconds(100);
    std::vector<const kube::ResourceType*> resources = kube::watchedResources();
  };

  // What /ready and metrics report.
  struct Status {
    bool synced = false;  // every resource type has been listed
    bool healthy = true;  // no list or watch is failing right now
    absl::Status last_error{};
    uint64_t relists = 0;
    uint64_t watch_errors = 0;
    uint64_t list_errors = 0;
    uint64_t snapshots = 0;                                             // snapshots published
    std::vector<std::pair<std::string, Reflector::Stats>> resources{};  // by qualified name
  };

  KubernetesSource(std::unique_ptr<kube::ApiClient> client, Options options,
                   SnapshotCallback on_snapshot, StatusCallback on_status);
  ~KubernetesSource() override;

  // Starts the reflectors and returns at once: the API may be unreachable for now, which is
  // reported through the status callback and retried with backoff.
  absl::Status start() override;
  void stop() override;

  Status status() const;
  kube::ApiClient& client() { return *client_; }

 private:
  void run();
  bool allSynced() const;
  void onChange();
  void onReflectorStatus(const absl::Status& status);
  void publish();

  std::unique_ptr<kube::ApiClient> client_;
  const Options options_;
  const SnapshotCallback on_snapshot_;
  const StatusCallback on_status_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool dirty_ = false;
  bool healthy_ = true;  // as last reported through on_status_
  absl::Status last_error_;
  uint64_t snapshots_ = 0;
  SourceSnapshotPtr current_;  // snapshot thread only
};

}  // namespace weft::op
