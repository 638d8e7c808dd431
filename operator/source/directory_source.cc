#include "operator/source/directory_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace weft::op {

namespace fs = std::filesystem;

namespace {

bool isHidden(const fs::path& path) {
  return absl::StartsWith(path.filename().string(), ".");
}

bool isYamlFile(const fs::directory_entry& entry) {
  std::error_code ec;
  const std::string ext = entry.path().extension().string();
  return (ext == ".yaml" || ext == ".yml") && entry.is_regular_file(ec);  // follows symlinks
}

absl::Status checkDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  }
  if (!fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": not a directory"));
  }
  return absl::OkStatus();
}

// Calls `visit` for every entry below `dir` that is not hidden and not below a hidden
// directory; symlinked directories are not entered.
template <typename Visit>
absl::Status walk(const std::string& dir, Visit visit) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (isHidden(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    visit(*it);
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat(dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;

}  // namespace

absl::StatusOr<FileTexts> readYamlFiles(const std::string& dir) {
  RETURN_IF_ERROR(checkDirectory(dir));
  FileTexts texts;
  RETURN_IF_ERROR(walk(dir, [&](const fs::directory_entry& entry) {
    if (isYamlFile(entry)) {
      texts.emplace(entry.path().lexically_relative(dir).string(),
                    common::readFile(entry.path().string()));
    }
  }));
  return texts;
}

DirectorySource::DirectorySource(Options options, SnapshotCallback on_snapshot,
                                 StatusCallback on_status)
    : options_(std::move(options)),
      on_snapshot_(std::move(on_snapshot)),
      on_status_(std::move(on_status)) {}

DirectorySource::~DirectorySource() {
  stop();
}

absl::Status DirectorySource::start() {
  RETURN_IF_ERROR(checkDirectory(options_.dir));
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  wakeup_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!inotify_.valid() || !wakeup_.valid()) {
    return absl::InternalError(absl::StrCat("inotify: ", std::strerror(errno)));
  }
  // Watch before reading, so a change made while the directory is read is not missed.
  if (::inotify_add_watch(inotify_.get(), options_.dir.c_str(), kWatchMask) < 0) {
    return absl::InternalError(
        absl::StrCat(options_.dir, ": cannot watch it: ", std::strerror(errno)));
  }
  watchDirectories();
  ASSIGN_OR_RETURN(const FileTexts texts, readYamlFiles(options_.dir));
  DirectoryBuild build = buildDirectorySnapshot(texts, {});
  if (!build.status.ok()) {
    return build.status;
  }
  apply(std::move(build));
  thread_ = std::thread([this] { run(); });
  return absl::OkStatus();
}

void DirectorySource::stop() {
  if (!thread_.joinable()) {
    return;
  }
  const uint64_t one = 1;
  // An eventfd write of 1 cannot fail short of the counter overflowing.
  (void)!::write(wakeup_.get(), &one, sizeof(one));
  thread_.join();
}

absl::Status DirectorySource::lastStatus() const {
  std::lock_guard lock(status_mutex_);
  return last_status_;
}

void DirectorySource::run() {
  while (waitForChanges()) {
    rebuild();
  }
}

DirectorySource::Wake DirectorySource::poll(absl::Duration timeout) {
  pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wakeup_.get(), POLLIN, 0}};
  const int timeout_ms = timeout == absl::InfiniteDuration()
                             ? -1
                             : static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int ready;
  do {
    ready = ::poll(fds, 2, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0 || (fds[1].revents & POLLIN) != 0) {
    return Wake::kStop;
  }
  if (ready == 0) {
    return Wake::kQuiet;
  }
  drainEvents();
  return Wake::kEvents;
}

bool DirectorySource::waitForChanges() {
  if (poll(absl::InfiniteDuration()) == Wake::kStop) {
    return false;
  }
  // A burst (an editor's save, a copy of many files) ends with the first quiet period; a
  // directory that never goes quiet is still applied every 10 periods.
  const absl::Time deadline = absl::Now() + 10 * options_.debounce;
  while (absl::Now() < deadline) {
    const Wake wake = poll(std::min(options_.debounce, deadline - absl::Now()));
    if (wake == Wake::kStop) {
      return false;
    }
    if (wake == Wake::kQuiet) {
      break;
    }
  }
  return true;
}

// Which file changed does not matter: every rebuild reads the whole directory.
void DirectorySource::drainEvents() {
  alignas(inotify_event) char buf[16 * 1024];
  while (::read(inotify_.get(), buf, sizeof(buf)) > 0) {
  }
}

// inotify does not watch subdirectories; each rebuild adds watches for new ones (adding a
// watch twice is harmless) and the kernel drops those of removed directories.
void DirectorySource::watchDirectories() {
  (void)walk(options_.dir, [this](const fs::directory_entry& entry) {
    std::error_code ec;
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
      ::inotify_add_watch(inotify_.get(), entry.path().c_str(), kWatchMask);
    }
  });
}

void DirectorySource::rebuild() {
  watchDirectories();
  absl::StatusOr<FileTexts> texts = readYamlFiles(options_.dir);
  if (!texts.ok()) {
    setStatus(absl::Status(
        texts.status().code(),
        absl::StrCat(texts.status().message(), " (the last good snapshot stays in use)")));
    return;
  }
  apply(buildDirectorySnapshot(*texts, files_));
}

void DirectorySource::apply(DirectoryBuild build) {
  files_ = std::move(build.files);
  if (build.snapshot != nullptr && (current_ == nullptr || !(*build.snapshot == *current_))) {
    current_ = std::move(build.snapshot);
    on_snapshot_(current_);
  }
  setStatus(std::move(build.status));
}

void DirectorySource::setStatus(absl::Status status) {
  {
    std::lock_guard lock(status_mutex_);
    last_status_ = status;
  }
  on_status_(status);
}

}  // namespace weft::op
