#include "common/util/flag_names.h"

#include <algorithm>

#include "absl/flags/reflection.h"
#include "absl/strings/string_view.h"

namespace weft::common {

std::vector<std::string> normalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") {
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      continue;
    }
    const size_t start = arg.find_first_not_of('-');
    const size_t end = std::min(arg.find('='), arg.size());
    if (start == std::string::npos || start >= end) {
      continue;
    }
    std::string name = arg.substr(start, end - start);
    std::replace(name.begin(), name.end(), '-', '_');
    if (absl::FindCommandLineFlag(name) != nullptr) {
      arg.replace(start, end - start, name);
    }
  }
  return args;
}

std::vector<char*> argvOf(std::vector<std::string>& args) {
  std::vector<char*> out;
  out.reserve(args.size() + 1);
  for (std::string& arg : args) {
    out.push_back(arg.data());
  }
  out.push_back(nullptr);
  return out;
}

}  // namespace weft::common
