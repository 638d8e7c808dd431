#include "operator/source/reflector.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"
#include "spdlog/spdlog.h"

namespace weft::op {

using nlohmann::json;

NextStep nextStepAfterWatch(const WatchEnd& end) {
  if (end.error.has_value()) {
    return kube::isExpired(*end.error) ? NextStep::kList : NextStep::kWatchAfterBackoff;
  }
  if (end.http_status.has_value() && *end.http_status == 410) {
    return NextStep::kList;
  }
  if (end.http_status.has_value() && (*end.http_status < 200 || *end.http_status >= 300)) {
    return NextStep::kWatchAfterBackoff;
  }
  if (end.unreadable || !end.made_progress) {
    return NextStep::kWatchAfterBackoff;
  }
  // Ended by the server (its timeout) or broken after it worked for a while: resume.
  return NextStep::kWatch;
}

Reflector::Reflector(const kube::ResourceType& type, kube::ApiClient& client, Options options,
                     ChangeCallback on_change, StatusCallback on_status)
    : type_(type),
      client_(client),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_status_(std::move(on_status)),
      backoff_(options_.initial_backoff, options_.max_backoff,
               options_.jitter ? options_.jitter : common::uniformRandom()),
      random_(std::random_device{}()),
      store_(type) {}

Reflector::~Reflector() {
  stop();
}

void Reflector::start() {
  thread_ = std::thread([this] { run(); });
}

void Reflector::requestStop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

void Reflector::stop() {
  requestStop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Reflector::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool Reflector::sleep(absl::Duration delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stopping_; });
  return !stopping_;
}

Reflector::Stats Reflector::stats() const {
  std::lock_guard lock(mutex_);
  Stats stats = stats_;
  stats.resource_version = store_.resourceVersion();
  stats.objects = store_.size();
  stats.problems = store_.problems().size();
  return stats;
}

absl::Status Reflector::addTo(SourceSnapshotBuilder& builder) const {
  std::lock_guard lock(mutex_);
  return store_.addTo(builder);
}

void Reflector::run() {
  bool list_needed = true;
  while (!stopping()) {
    if (list_needed) {
      const absl::Status listed = listAll();
      if (!listed.ok()) {
        if (!stopping()) {  // a call cancelled by shutdown is no failure
          failed(listed);
        }
        continue;
      }
      list_needed = false;
      succeeded();
    }
    list_needed = watch() == NextStep::kList;
  }
}

absl::Status Reflector::listPages(std::vector<json>& items, std::string& resource_version) {
  std::string token;
  int restarts = 0;
  do {
    std::vector<std::pair<std::string, std::string>> params = {
        {"limit", absl::StrCat(options_.page_size)}};
    if (!token.empty()) {
      params.emplace_back("continue", token);
    }
    const kube::ApiRequest request{
        .path = absl::StrCat(type_.collectionPath(), "?", kube::queryString(params)),
        .timeout = options_.list_timeout};
    ASSIGN_OR_RETURN(const kube::ApiResponse response, client_.send(request));
    if (!response.ok()) {
      const kube::ApiStatus status = kube::apiStatusFromBody(response.status, response.body);
      // The continue token outlived the server's history: start the list over.
      if (!token.empty() && kube::isExpired(status) && ++restarts <= 3) {
        spdlog::info("{}: list continue token expired ({}); listing from the start",
                     type_.qualifiedName(), kube::describe(status));
        items.clear();
        token.clear();
        continue;
      }
      return kube::responseError(request, response);
    }
    auto page = kube::parseListPage(response.body);
    if (!page.ok()) {
      return absl::Status(page.status().code(),
                          absl::StrCat("GET ", request.path, ": ", page.status().message()));
    }
    if (token.empty()) {
      resource_version = page->resource_version;  // the list's: every page shares it
    }
    for (json& item : page->items) {
      items.push_back(std::move(item));
    }
    token = page->continue_token;
  } while (!token.empty());
  return absl::OkStatus();
}

absl::Status Reflector::listAll() {
  std::vector<json> items;
  std::string resource_version;
  if (absl::Status listed = listPages(items, resource_version); !listed.ok()) {
    std::lock_guard lock(mutex_);
    ++stats_.list_errors;
    return absl::Status(listed.code(), absl::StrCat("list: ", listed.message()));
  }
  ResourceStore::Replaced replaced;
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    replaced = store_.replace(items, resource_version);
    first = !stats_.synced;
    stats_.synced = true;
    ++stats_.lists;
    stats_.relists += first ? 0 : 1;
  }
  for (const std::string& problem : replaced.problems) {
    spdlog::warn("{}: {}", type_.qualifiedName(), problem);
  }
  spdlog::debug("{}: listed {} objects at resourceVersion {}", type_.qualifiedName(), items.size(),
                resource_version);
  if (first || replaced.changed) {
    on_change_();
  }
  return absl::OkStatus();
}

std::string Reflector::watchPath() {
  std::uniform_int_distribution<int> extra(0, std::max(options_.min_watch_seconds - 1, 0));
  const int timeout = options_.min_watch_seconds + extra(random_);
  std::string resource_version;
  {
    std::lock_guard lock(mutex_);
    resource_version = store_.resourceVersion();
    ++stats_.watches;
  }
  return absl::StrCat(type_.collectionPath(), "?",
                      kube::queryString({{"watch", "1"},
                                         {"resourceVersion", resource_version},
                                         {"allowWatchBookmarks", "true"},
                                         {"timeoutSeconds", absl::StrCat(timeout)}}));
}

absl::Status Reflector::onEvent(absl::string_view line, std::optional<kube::ApiStatus>& error,
                                bool& unreadable) {
  auto event = kube::parseWatchEvent(line);
  if (!event.ok()) {
    unreadable = true;
    return event.status();
  }
  ResourceStore::Applied applied;
  {
    std::lock_guard lock(mutex_);
    applied = store_.apply(*event);
  }
  if (!applied.problem.empty()) {
    spdlog::warn("{}: {}", type_.qualifiedName(), applied.problem);
  }
  if (applied.error.has_value()) {
    error = applied.error;
    return absl::AbortedError(kube::describe(*applied.error));
  }
  if (applied.changed) {
    on_change_();
  }
  return absl::OkStatus();
}

NextStep Reflector::watch() {
  const std::string path = watchPath();
  const absl::Time started = absl::Now();
  bool opened = false;
  bool any_event = false;
  WatchEnd end;
  const absl::StatusOr<kube::ApiResponse> result = client_.stream(
      kube::ApiRequest{
          .path = path,
          .timeout = absl::Seconds(2 * options_.min_watch_seconds) + options_.list_timeout},
      [&](int status) {
        // Connected: a failure before this (say, a 401) is over. A watch can stay quiet for
        // minutes, so its end is too late to say so.
        if (status >= 200 && status < 300) {
          opened = true;
          succeeded();
        }
      },
      [&](absl::string_view line) {
        any_event = true;
        return onEvent(line, end.error, end.unreadable);
      });
  if (stopping()) {
    return NextStep::kWatch;  // the loop ends
  }
  // A connection that failed slowly (a connect timeout) is no progress: only an open watch.
  end.made_progress = opened && (any_event || absl::Now() - started >= options_.short_watch);
  if (result.ok()) {
    end.http_status = result->status;
  } else {
    end.broken = !end.error.has_value() && !end.unreadable;
  }
  const NextStep next = nextStepAfterWatch(end);
  absl::Status outcome = absl::OkStatus();
  if (end.error.has_value()) {
    outcome = kube::statusError(absl::StrCat("GET ", path), *end.error);
  } else if (!result.ok()) {
    outcome = result.status();
  } else if (!result->ok()) {
    outcome = kube::responseError(kube::ApiRequest{.path = path}, *result);
  }
  reportWatchEnd(next, outcome);
  return next;
}

void Reflector::reportWatchEnd(NextStep next, const absl::Status& outcome) {
  if (!outcome.ok()) {
    std::lock_guard lock(mutex_);
    ++stats_.watch_errors;
  }
  const std::string name = type_.qualifiedName();
  switch (next) {
    case NextStep::kList:
      spdlog::info("{}: the watch's resourceVersion is gone ({}); listing again", name,
                   std::string(outcome.message()));
      break;
    case NextStep::kWatch:
      if (!outcome.ok()) {
        spdlog::info("{}: the watch broke ({}); watching again from where it stopped", name,
                     std::string(outcome.message()));
      }
      succeeded();
      break;
    case NextStep::kWatchAfterBackoff:
      failed(outcome.ok()
                 ? absl::UnavailableError("watch: the server ended it at once")
                 : absl::Status(outcome.code(), absl::StrCat("watch: ", outcome.message())));
      break;
  }
}

void Reflector::failed(const absl::Status& error) {
  const absl::Duration delay = absl::FromChrono(backoff_.next());
  const absl::Status reported(
      error.code(),
      absl::StrCat(type_.qualifiedName(), ": ", error.message(), " (retrying in ",
                   absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(10))), ")"));
  {
    std::lock_guard lock(mutex_);
    stats_.healthy = false;
    stats_.last_error = reported;
  }
  on_status_(reported);
  sleep(delay);
}

void Reflector::succeeded() {
  backoff_.reset();
  bool recovered = false;
  {
    std::lock_guard lock(mutex_);
    recovered = !stats_.healthy;
    stats_.healthy = true;
  }
  if (recovered) {
    on_status_(absl::OkStatus());
  }
}

}  // namespace weft::op
