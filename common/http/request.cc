#include "common/http/request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace weft::common::http {
namespace {

// RFC 9110 token characters (method and header names).
bool isTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool isToken(absl::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!isTokenChar(c)) {
      return false;
    }
  }
  return true;
}

// Visible ASCII only: no spaces, controls or bytes >= 0x80 in a request target.
bool isTargetChar(char c) {
  return c > 0x20 && c < 0x7f;
}

bool hasControlChars(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return true;
    }
  }
  return false;
}

// Finds the end of the head: the first empty line. Returns the offset just past it, or npos.
size_t headEnd(absl::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t nl = bytes.find('\n', pos);
    if (nl == absl::string_view::npos) {
      return absl::string_view::npos;
    }
    const size_t line_len = nl - pos;
    if (line_len == 0 || (line_len == 1 && bytes[pos] == '\r')) {
      return nl + 1;
    }
    pos = nl + 1;
  }
  return absl::string_view::npos;
}

absl::string_view stripCr(absl::string_view line) {
  absl::ConsumeSuffix(&line, "\r");
  return line;
}

std::variant<NeedMore, Malformed, Request> parseRequestLine(absl::string_view line) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3) {
    return Malformed{"request line is not \"METHOD /target HTTP/1.x\""};
  }
  Request request;
  if (!isToken(parts[0])) {
    return Malformed{"bad method"};
  }
  request.method = std::string(parts[0]);
  const absl::string_view target = parts[1];
  if (target.empty() || target[0] != '/') {
    return Malformed{"request target must start with '/'"};
  }
  for (char c : target) {
    if (!isTargetChar(c)) {
      return Malformed{"bad character in request target"};
    }
  }
  request.target = std::string(target);
  const size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  request.query = q == absl::string_view::npos ? "" : std::string(target.substr(q + 1));
  if (parts[2] == "HTTP/1.1") {
    request.minor_version = 1;
  } else if (parts[2] == "HTTP/1.0") {
    request.minor_version = 0;
  } else {
    return Malformed{"not HTTP/1.0 or HTTP/1.1"};
  }
  return request;
}

}  // namespace

absl::string_view Request::header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

std::variant<NeedMore, Malformed, Request> parseRequestHead(absl::string_view bytes) {
  const size_t end = headEnd(bytes);
  if (end == absl::string_view::npos) {
    return NeedMore{};
  }
  std::vector<absl::string_view> lines = absl::StrSplit(bytes.substr(0, end), '\n');
  // The split leaves the terminating empty line and the empty piece after its '\n'.
  lines.resize(lines.size() - 2);
  if (lines.empty()) {
    return Malformed{"empty request"};
  }
  auto parsed = parseRequestLine(stripCr(lines[0]));
  if (!std::holds_alternative<Request>(parsed)) {
    return parsed;
  }
  Request& request = std::get<Request>(parsed);
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view line = stripCr(lines[i]);
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || !isToken(line.substr(0, colon))) {
      return Malformed{"bad header line"};
    }
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (hasControlChars(value)) {
      return Malformed{"bad character in header value"};
    }
    request.headers.emplace_back(absl::AsciiStrToLower(line.substr(0, colon)), std::string(value));
  }
  return parsed;
}

}  // namespace weft::common::http
