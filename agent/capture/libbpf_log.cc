#include "agent/capture/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace weft::agent::capture {
namespace {

constexpr size_t kMaxCollected = 1 << 20;  // a verifier log can be large; keep the tail

std::mutex& logMutex() {
  static std::mutex m;
  return m;
}

std::string& collected() {
  static std::string s;
  return s;
}

int collect(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) {
    return 0;
  }
  // The verifier log arrives as one huge "%s": size the buffer to the message.
  va_list measure;
  va_copy(measure, args);
  const int n = vsnprintf(nullptr, 0, format, measure);
  va_end(measure);
  if (n <= 0) {
    return n;
  }
  std::string msg(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(msg.data(), msg.size(), format, args);
  msg.resize(n);
  std::lock_guard<std::mutex> lock(logMutex());
  std::string& s = collected();
  s += msg;
  if (s.size() > kMaxCollected) {
    s.erase(0, s.size() - kMaxCollected);
  }
  return n;
}

libbpf_print_fn_t& previousPrint() {
  static libbpf_print_fn_t fn = nullptr;
  return fn;
}

}  // namespace

LibbpfLog::LibbpfLog() {
  std::lock_guard<std::mutex> lock(logMutex());
  collected().clear();
  previousPrint() = libbpf_set_print(collect);
}

LibbpfLog::~LibbpfLog() {
  libbpf_set_print(previousPrint());
}

std::string LibbpfLog::full() const {
  std::lock_guard<std::mutex> lock(logMutex());
  return collected();
}

std::string LibbpfLog::summary() const {
  return summarizeLibbpfMessages(full());
}

std::string summarizeLibbpfMessages(const std::string& messages) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(messages, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumePrefix(&line, "libbpf: ");
    lines.emplace_back(line);
  }
  std::vector<std::string> parts;
  for (const std::string& line : lines) {
    if (absl::StrContains(line, "failed") || absl::StrContains(line, "error") ||
        absl::StrContains(line, "Error")) {
      parts.push_back(line);
      break;
    }
  }
  // The verifier's reason is the last log line before its "processed N insns" footer.
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StrContains(lines[i], "END PROG LOAD LOG")) {
      continue;
    }
    for (size_t j = i; j-- > 0;) {
      if (absl::StrContains(lines[j], "BEGIN PROG LOAD LOG")) {
        break;
      }
      if (!absl::StartsWith(lines[j], "processed ") &&
          !absl::StartsWith(lines[j], "verification time")) {
        parts.push_back("verifier: " + lines[j]);
        break;
      }
    }
    break;
  }
  if (parts.empty() && !lines.empty()) {
    parts.push_back(lines.back());
  }
  std::string out = absl::StrJoin(parts, "; ");
  constexpr size_t kMaxSummary = 400;
  if (out.size() > kMaxSummary) {
    out.resize(kMaxSummary);
    out += "...";
  }
  return out;
}

}  // namespace weft::agent::capture
