#include "common/util/file.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
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

}  // namespace
}  // namespace weft::common
