#pragma once

// Lets absl flags be spelled with hyphens on the command line (--bpffs-root), as the
// agent's and the lab's contracts are written; absl flag names are C++ identifiers
// (bpffs_root).

#include <string>
#include <vector>

namespace weft::common {

// Copies argv, rewriting "--some-flag[=v]" to "--some_flag[=v]" when "some_flag" is a
// registered absl flag. Unknown names are left as typed so absl's error quotes them
// exactly. Arguments after a bare "--" are never touched.
std::vector<std::string> normalizeFlagNames(int argc, char** argv);

// argv-style pointers into `args` (valid while `args` lives), with a trailing nullptr.
std::vector<char*> argvOf(std::vector<std::string>& args);

}  // namespace weft::common
