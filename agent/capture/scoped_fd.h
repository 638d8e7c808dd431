#pragma once

#include "common/util/scoped_fd.h"

namespace weft::agent::capture {

// Moved to common/ (the operator's inotify watcher needs it too).
using ScopedFd = common::ScopedFd;

}  // namespace weft::agent::capture
