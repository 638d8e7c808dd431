#pragma once

// Keeps the ConfigStore in step with the --config file. The control thread calls
// reloadIfChanged() once a second; a file that fails to parse or validate is reported and
// the last good snapshot keeps serving.

#include <sys/types.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/config/config_store.h"

namespace weft::agent::config {

enum class ReloadResult { kUnchanged, kAccepted, kRejected };

class ConfigReloader {
 public:
  using Clock = std::function<absl::Time()>;

  ConfigReloader(std::string path, std::string node_name, ConfigStore& store,
                 Clock clock = absl::Now);

  // Loads the file and publishes its snapshot; the agent does not start without one.
  absl::Status loadInitial();
  // Reloads when the file's identity (inode, size, mtime) changed since the last attempt.
  ReloadResult reloadIfChanged();
  // Why the last attempt was rejected (OK after an accepted load).
  const absl::Status& lastError() const { return last_error_; }

 private:
  struct FileIdentity {
    bool exists = false;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
  };

  FileIdentity identify() const;
  absl::Status load();

  std::string path_;
  std::string node_name_;
  ConfigStore& store_;
  Clock clock_;
  FileIdentity seen_;
  absl::Status last_error_;
};

}  // namespace weft::agent::config
