#include "common/identity/openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace weft::common::identity {

absl::Status openSslError(absl::string_view what, absl::StatusCode code) {
  std::string message(what);
  const char* separator = ": ";
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long err = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&message, separator, buf);
    // Details such as "Expecting: CERTIFICATE" or the field that failed to decode.
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && data[0] != '\0') {
      absl::StrAppend(&message, " (", data, ")");
    }
    separator = "; ";
  }
  return absl::Status(code, message);
}

void clearOpenSslErrors() {
  ERR_clear_error();
}

}  // namespace weft::common::identity
