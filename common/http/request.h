#pragma once

// The head of an HTTP/1.x request and its parser. The parser is pure (bytes in, result out)
// so it is fuzzed and unit-tested without sockets.

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace weft::common::http {

struct Request {
  std::string method;
  std::string target;  // as sent: path plus optional "?query"
  std::string path;
  std::string query;                                         // without the '?'
  int minor_version = 1;                                     // HTTP/1.<minor_version>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The first header named `name` (lower case), or "" when absent.
  absl::string_view header(absl::string_view name) const;
};

// More bytes are needed: the blank line ending the head has not arrived.
struct NeedMore {};
// The bytes are not an HTTP/1.x request head; `reason` is safe to send back.
struct Malformed {
  std::string reason;
};

// Parses the request head at the start of `bytes`. Lines end in CRLF (a bare LF is accepted,
// as RFC 9112 allows). Only origin-form targets ("/path?query") are accepted.
std::variant<NeedMore, Malformed, Request> parseRequestHead(absl::string_view bytes);

}  // namespace weft::common::http
