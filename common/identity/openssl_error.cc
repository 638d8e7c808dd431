#include "common/identity/openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace weft::common::identity {

absl::Status openSslError(absl::string_view what, absl::StatusCode code) {
  std::string message(what);
  const char* separator = ": ";
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&message, separator, buf);
    separator = "; ";
  }
  return absl::Status(code, message);
}

void clearOpenSslErrors() {
  ERR_clear_error();
}

}  // namespace weft::common::identity
