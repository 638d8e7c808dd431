#pragma once

// HTTP status codes in words, for status lines and for messages about answers.

#include <string>

#include "absl/strings/string_view.h"

namespace weft::common::http {

// "Not Found" for 404; "" for a code it does not know.
absl::string_view reasonPhrase(int status);

// "200 OK", "404 Not Found", ...: the status line's code and reason.
std::string statusLine(int status);

}  // namespace weft::common::http
