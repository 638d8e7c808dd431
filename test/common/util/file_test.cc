#include "common/util/file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace weft::common {
namespace {

TEST_CASE("a file is read whole, binary bytes included") {
  char path[] = "/tmp/weft-file-test-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  const std::string content("line1\n\0\xff", 8);
  std::ofstream(path, std::ios::binary) << content;
  auto read = readFile(path);
  ::unlink(path);
  REQUIRE(read.ok());
  CHECK(*read == content);
}

TEST_CASE("a missing file is an error naming the path and the reason") {
  auto read = readFile("/nonexistent/weft.json");
  REQUIRE_FALSE(read.ok());
  CHECK(std::string(read.status().message()) ==
        "/nonexistent/weft.json: No such file or directory");
}

TEST_CASE("a directory is not read as an empty file") {
  auto read = readFile("/tmp");
  REQUIRE_FALSE(read.ok());
  CHECK(std::string(read.status().message()) == "/tmp: is a directory, not a file");
}

TEST_CASE("a file is replaced atomically, with the mode asked for, and no temp file left") {
  char dir[] = "/tmp/weft-file-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/key.pem";
  std::ofstream(path) << "old";
  REQUIRE(writeFileAtomically(path, "new content", 0600).ok());
  CHECK(*readFile(path) == "new content");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(writeFileAtomically(path, "", 0644).ok());
  CHECK(readFile(path)->empty());
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a file that cannot be written is an error naming the path") {
  const absl::Status status = writeFileAtomically("/nonexistent/dir/x.json", "{}");
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(status.message()) ==
        "cannot create /nonexistent/dir/.x.json.tmp: No such file or directory");
}

}  // namespace
}  // namespace weft::common
