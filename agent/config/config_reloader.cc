#include "agent/config/config_reloader.h"

#include <sys/stat.h>

#include <utility>

#include "agent/config/config_loader.h"
#include "common/util/status_macros.h"
#include "spdlog/spdlog.h"

namespace weft::agent::config {

ConfigReloader::ConfigReloader(std::string path, std::string node_name, ConfigStore& store,
                               Clock clock)
    : path_(std::move(path)),
      node_name_(std::move(node_name)),
      store_(store),
      clock_(std::move(clock)) {}

ConfigReloader::FileIdentity ConfigReloader::identify() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    return FileIdentity{};
  }
  return FileIdentity{
      .exists = true,
      .inode = st.st_ino,
      .size = st.st_size,
      .mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
  };
}

absl::Status ConfigReloader::load() {
  ASSIGN_OR_RETURN(auto config, loadNodeConfigFile(path_));
  auto snapshot = buildSnapshot(std::move(config), node_name_, clock_());
  if (!snapshot.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", snapshot.status().message()));
  }
  store_.publish(*std::move(snapshot));
  return absl::OkStatus();
}

absl::Status ConfigReloader::loadInitial() {
  seen_ = identify();
  last_error_ = load();
  return last_error_;
}

ReloadResult ConfigReloader::reloadIfChanged() {
  const FileIdentity now = identify();
  if (now == seen_) {
    return ReloadResult::kUnchanged;
  }
  seen_ = now;
  last_error_ = load();
  if (!last_error_.ok()) {
    spdlog::error("config reload rejected, keeping version \"{}\": {}",
                  store_.current() ? store_.current()->version() : "",
                  std::string(last_error_.message()));
    return ReloadResult::kRejected;
  }
  spdlog::info("config reloaded: version \"{}\"", store_.current()->version());
  return ReloadResult::kAccepted;
}

}  // namespace weft::agent::config
