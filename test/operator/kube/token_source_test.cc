#include "operator/kube/token_source.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "test/agent/testing/temp_dir.h"

namespace weft::op::kube {
namespace {

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string tokenOf(TokenSource& tokens) {
  auto token = tokens.token();
  INFO(token.status().ToString());
  REQUIRE(token.ok());
  return *token;
}

TEST_CASE("a fixed token is used as is; none gives requests without one") {
  TokenSource fixed("abc", "");
  CHECK(tokenOf(fixed) == "abc");
  TokenSource none("", "");
  CHECK(tokenOf(none).empty());
}

TEST_CASE("a token file is re-read once the reload period has passed") {
  test::TempDir dir;
  const std::string path = dir.path() + "/token";
  writeFile(path, "first\n");
  absl::Time now = absl::FromUnixSeconds(1000);
  TokenSource tokens("ignored", path, absl::Minutes(1), [&] { return now; });
  CHECK(tokenOf(tokens) == "first");  // trailing newline stripped

  writeFile(path, "second");
  now += absl::Seconds(59);
  CHECK(tokenOf(tokens) == "first");  // within the period: the copy in hand
  now += absl::Seconds(1);
  CHECK(tokenOf(tokens) == "second");
}

TEST_CASE("after the server refused the token, the file is read again at once") {
  test::TempDir dir;
  const std::string path = dir.path() + "/token";
  writeFile(path, "old");
  const absl::Time now = absl::FromUnixSeconds(1000);
  TokenSource tokens("", path, absl::Hours(1), [&] { return now; });
  CHECK(tokenOf(tokens) == "old");
  writeFile(path, "rotated");
  CHECK(tokenOf(tokens) == "old");
  tokens.invalidate();
  CHECK(tokenOf(tokens) == "rotated");
}

TEST_CASE("a token file that vanishes keeps the last token; one never read is an error") {
  test::TempDir dir;
  const std::string path = dir.path() + "/token";
  writeFile(path, "kept");
  TokenSource tokens("", path, absl::ZeroDuration());
  CHECK(tokenOf(tokens) == "kept");
  std::filesystem::remove(path);
  CHECK(tokenOf(tokens) == "kept");
  writeFile(path, "  \n");
  CHECK(tokenOf(tokens) == "kept");  // empty mid-rotation: still the last one

  TokenSource missing("", dir.path() + "/none");
  auto token = missing.token();
  REQUIRE_FALSE(token.ok());
  CHECK_THAT(std::string(token.status().message()), Catch::StartsWith("bearer token: "));
  CHECK_THAT(std::string(token.status().message()), Catch::Contains("/none"));
}

}  // namespace
}  // namespace weft::op::kube
