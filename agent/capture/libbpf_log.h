#pragma once

// libbpf reports why a load failed only through its print callback; this collects those
// messages so a failure can be one line that says why.

#include <string>

namespace weft::agent::capture {

// Collects libbpf's messages for as long as it lives (one at a time per process).
class LibbpfLog {
 public:
  LibbpfLog();
  ~LibbpfLog();
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;

  // The gist of what libbpf said: its first error line and, for a verifier rejection, the
  // verifier's last line. Empty when libbpf said nothing of note.
  std::string summary() const;
  // Everything libbpf printed (the full verifier log included).
  std::string full() const;
};

// The summary of a libbpf messages text; pure, exposed for tests.
std::string summarizeLibbpfMessages(const std::string& messages);

}  // namespace weft::agent::capture
