#include "common/util/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace weft::common {

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  return out.str();
}

namespace {

absl::Status osError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status writeFileAtomically(const std::string& path, const std::string& content,
                                 unsigned mode) {
  const std::filesystem::path target(path);
  const std::string tmp =
      (target.parent_path() / absl::StrCat(".", target.filename().string(), ".tmp")).string();
  // Created with `mode` (and fchmod'ed past the umask), so a private key is never readable
  // by others, not even for a moment.
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return osError("cannot create", tmp);
  }
  absl::Status status = ::fchmod(fd, mode) == 0 ? absl::OkStatus() : osError("cannot chmod", tmp);
  for (size_t done = 0; status.ok() && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      status = osError("cannot write", tmp);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = osError("cannot write", tmp);
  }
  ::close(fd);
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = osError("cannot replace", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
  }
  return status;
}

}  // namespace weft::common
