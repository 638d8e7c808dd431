#include "common/identity/openssl_error.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <catch2/catch.hpp>
#include <string>

namespace weft::common::identity {
namespace {

TEST_CASE("openSslError carries the queued reasons and empties the queue") {
  // A failing OpenSSL call leaves its reason on the thread's error queue.
  BIO* bio = BIO_new_mem_buf("not pem", -1);
  CHECK(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) == nullptr);
  BIO_free(bio);
  REQUIRE(ERR_peek_error() != 0);
  const absl::Status status = openSslError("reading", absl::StatusCode::kInvalidArgument);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::StartsWith("reading: error:"));
  CHECK_THAT(std::string(status.message()), Catch::Contains("no start line"));
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("openSslError with an empty queue is just the description") {
  clearOpenSslErrors();
  const absl::Status status = openSslError("signing");
  CHECK(status.code() == absl::StatusCode::kInternal);
  CHECK(status.message() == "signing");
}

}  // namespace
}  // namespace weft::common::identity
