#include "agent/capture/libbpf_log.h"

#include <catch2/catch.hpp>

namespace weft::agent::capture {
namespace {

TEST_CASE("a verifier rejection is summarised by libbpf's error and the verifier's reason",
          "[libbpf]") {
  const std::string messages =
      "libbpf: prog 'weft_sockops': BPF program load failed: Permission denied\n"
      "libbpf: prog 'weft_sockops': -- BEGIN PROG LOAD LOG --\n"
      "0: R1=ctx() R10=fp0\n"
      "; int weft_sockops(struct bpf_sock_ops *skops) {\n"
      "R2 invalid mem access 'scalar'\n"
      "processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1\n"
      "-- END PROG LOAD LOG --\n"
      "libbpf: prog 'weft_sockops': failed to load: -13\n";
  const std::string summary = summarizeLibbpfMessages(messages);
  CHECK_THAT(summary, Catch::Contains("BPF program load failed: Permission denied"));
  CHECK_THAT(summary, Catch::Contains("verifier: R2 invalid mem access 'scalar'"));
  CHECK(summary.find("processed 12 insns") == std::string::npos);
}

TEST_CASE("a map reuse failure is summarised by libbpf's own line", "[libbpf]") {
  const std::string summary = summarizeLibbpfMessages(
      "libbpf: couldn't reuse pinned map at '/sys/fs/bpf/weft/weft_tuples': parameter "
      "mismatch\nlibbpf: map 'weft_tuples': error reusing pinned map\n");
  CHECK_THAT(summary, Catch::Contains("weft_tuples"));
}

TEST_CASE("silence summarises to nothing", "[libbpf]") {
  CHECK(summarizeLibbpfMessages("").empty());
}

}  // namespace
}  // namespace weft::agent::capture
