#include "common/util/flag_names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, bpffs_root, "", "test flag");
ABSL_FLAG(bool, dry_run, false, "test flag");

namespace weft::common {
namespace {

std::vector<std::string> normalize(std::vector<std::string> args) {
  std::vector<char*> argv = argvOf(args);
  return normalizeFlagNames(static_cast<int>(args.size()), argv.data());
}

TEST_CASE("hyphenated names of registered flags become absl names") {
  CHECK(normalize({"prog", "--bpffs-root=/sys/fs/bpf/x", "-dry-run", "--bpffs-root", "/y"}) ==
        std::vector<std::string>{"prog", "--bpffs_root=/sys/fs/bpf/x", "-dry_run", "--bpffs_root",
                                 "/y"});
}

TEST_CASE("values, unknown flags and arguments after -- are left as typed") {
  CHECK(normalize({"prog", "--bpffs-root=/a-b", "--no-such-flag=1", "--", "--dry-run", "x-y"}) ==
        std::vector<std::string>{"prog", "--bpffs_root=/a-b", "--no-such-flag=1", "--", "--dry-run",
                                 "x-y"});
  CHECK(normalize({"prog", "-", "--", "---"}) ==
        std::vector<std::string>{"prog", "-", "--", "---"});
}

}  // namespace
}  // namespace weft::common
