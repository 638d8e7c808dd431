#include "operator/source/kubernetes_source.h"

#include <utility>

#include "absl/strings/str_join.h"
#include "spdlog/spdlog.h"

namespace weft::op {

KubernetesSource::KubernetesSource(std::unique_ptr<kube::ApiClient> client, Options options,
                                   SnapshotCallback on_snapshot, StatusCallback on_status)
    : client_(std::move(client)),
      options_(std::move(options)),
      on_snapshot_(std::move(on_snapshot)),
      on_status_(std::move(on_status)) {
  for (const kube::ResourceType* type : options_.resources) {
    reflectors_.push_back(std::make_unique<Reflector>(
        *type, *client_, options_.reflector, [this] { onChange(); },
        [this](const absl::Status& status) { onReflectorStatus(status); }));
  }
}

KubernetesSource::~KubernetesSource() {
  stop();
}

absl::Status KubernetesSource::start() {
  std::vector<std::string> names;
  for (const kube::ResourceType* type : options_.resources) {
    names.push_back(type->qualifiedName());
  }
  spdlog::info("kubernetes: listing and watching {} at {}", absl::StrJoin(names, ", "),
               client_->server());
  thread_ = std::thread([this] { run(); });
  for (auto& reflector : reflectors_) {
    reflector->start();
  }
  return absl::OkStatus();
}

void KubernetesSource::stop() {
  if (!thread_.joinable()) {
    return;
  }
  for (auto& reflector : reflectors_) {
    reflector->requestStop();
  }
  client_->shutdown();  // ends the calls in progress
  for (auto& reflector : reflectors_) {
    reflector->stop();
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  thread_.join();
}

bool KubernetesSource::allSynced() const {
  for (const auto& reflector : reflectors_) {
    if (!reflector->stats().synced) {
      return false;
    }
  }
  return true;
}

void KubernetesSource::onChange() {
  std::lock_guard lock(mutex_);
  dirty_ = true;
  wake_.notify_all();
}

void KubernetesSource::onReflectorStatus(const absl::Status& status) {
  bool report = false;
  {
    std::lock_guard lock(mutex_);
    if (!status.ok()) {
      last_error_ = status;
      healthy_ = false;
      report = true;
    } else if (!healthy_) {
      // Healthy again only when no reflector is failing any more.
      bool all_healthy = true;
      for (const auto& reflector : reflectors_) {
        all_healthy = all_healthy && reflector->stats().healthy;
      }
      healthy_ = all_healthy;
      report = all_healthy;
    }
  }
  if (report) {
    on_status_(status);
  }
}

void KubernetesSource::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || (dirty_ && allSynced()); });
    // A burst of events ends with the first quiet period; one that never ends is still
    // published every 10 periods.
    const absl::Time deadline = absl::Now() + 10 * options_.debounce;
    while (!stopping_ && dirty_ && absl::Now() < deadline) {
      dirty_ = false;
      wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.debounce),
                     [this] { return stopping_ || dirty_; });
    }
    if (stopping_) {
      return;
    }
    dirty_ = false;
    lock.unlock();
    publish();
    lock.lock();
  }
}

void KubernetesSource::publish() {
  SourceSnapshotBuilder builder;
  for (const auto& reflector : reflectors_) {
    if (absl::Status added = reflector->addTo(builder); !added.ok()) {
      on_status_(added);  // one object per kind and key: cannot happen with one store a kind
      return;
    }
  }
  SourceSnapshotPtr snapshot = std::move(builder).build();
  if (current_ != nullptr && *snapshot == *current_) {
    return;
  }
  if (current_ == nullptr) {
    spdlog::info("kubernetes: synced, {} objects", snapshot->objectCount());
  }
  current_ = std::move(snapshot);
  {
    std::lock_guard lock(mutex_);
    ++snapshots_;
  }
  on_snapshot_(current_);
}

KubernetesSource::Status KubernetesSource::status() const {
  Status status;
  status.synced = true;
  for (const auto& reflector : reflectors_) {
    Reflector::Stats stats = reflector->stats();
    status.synced = status.synced && stats.synced;
    status.healthy = status.healthy && stats.healthy;
    status.relists += stats.relists;
    status.watch_errors += stats.watch_errors;
    status.list_errors += stats.list_errors;
    status.resources.emplace_back(reflector->type().qualifiedName(), std::move(stats));
  }
  std::lock_guard lock(mutex_);
  status.last_error = last_error_;
  status.snapshots = snapshots_;
  return status;
}

}  // namespace weft::op
