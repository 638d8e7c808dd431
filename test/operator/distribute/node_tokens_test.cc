#include "operator/distribute/node_tokens.h"

#include <catch2/catch.hpp>

namespace weft::op {
namespace {

TEST_CASE("node tokens map each token to its node") {
  auto tokens = NodeTokens::parse(
      "# lab bootstrap tokens\n"
      "\n"
      "node1   aaaaaaaaaaaaaaaa1\n"
      "node1 aaaaaaaaaaaaaaaa2   \n"
      "node2 bbbbbbbbbbbbbbbb\n");
  REQUIRE(tokens.ok());
  CHECK(tokens->size() == 3);
  CHECK(tokens->nodeOf("aaaaaaaaaaaaaaaa1") == "node1");
  CHECK(tokens->nodeOf("aaaaaaaaaaaaaaaa2") == "node1");
  CHECK(tokens->nodeOf("bbbbbbbbbbbbbbbb") == "node2");
  CHECK(tokens->nodeOf("bbbbbbbbbbbbbbb") == std::nullopt);
}

TEST_CASE("a bad node token file names the line") {
  CHECK(NodeTokens::parse("node1\n").status().message() == "line 1: expected \"<node> <token>\"");
  CHECK(NodeTokens::parse("# x\nnode1 short\n").status().message() ==
        "line 2: the token of node node1 is shorter than 16 characters");
  CHECK(NodeTokens::parse("node1 aaaaaaaaaaaaaaaa\nnode2 aaaaaaaaaaaaaaaa\n").status().message() ==
        "line 2: node node2's token is used twice");
  CHECK_THAT(std::string(NodeTokens::fromFile("/nonexistent/tokens").status().message()),
             Catch::StartsWith("/nonexistent/tokens: "));
}

TEST_CASE("only \"Bearer <token>\" carries a token") {
  CHECK(bearerToken("Bearer abc") == "abc");
  CHECK(bearerToken("Bearer ") == std::nullopt);
  CHECK(bearerToken("Basic abc") == std::nullopt);
  CHECK(bearerToken("abc") == std::nullopt);
}

}  // namespace
}  // namespace weft::op
