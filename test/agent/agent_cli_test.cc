// weft-agent's command line: every startup failure is one clear line and exit code 1.
// These runs all stop before anything is loaded into the kernel.

#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/identity/certificate_authority.h"
#include "common/identity/pem.h"
#include "test/agent/testing/run_command.h"
#include "test/agent/testing/temp_dir.h"

namespace {

using Run = weft::test::CommandResult;

Run agent(const std::string& args, const std::string& prefix = "") {
  return weft::test::runCommand(absl::StrCat(prefix, " ", WEFT_AGENT_BINARY, " ", args));
}

bool isOneLine(const std::string& s) {
  return !s.empty() && s.back() == '\n' && s.find('\n') == s.size() - 1;
}

// A config directory any user can read (the non-root run must get as far as the root check).
struct ConfigFile {
  explicit ConfigFile(const std::string& json) {
    ::chmod(dir.path().c_str(), 0755);
    std::ofstream(path) << json;
    ::chmod(path.c_str(), 0644);
  }
  std::string flags(const std::string& node = "node1") const {
    return absl::StrCat("--node=", node, " --config=", path, " --bpffs-root=", dir.path(),
                        "/bpf --cgroup-root=", dir.path(), "/cg --capture-ipv4=10.244.1.1");
  }
  weft::test::TempDir dir;
  std::string path = dir.path() + "/node.json";
};

TEST_CASE("an unknown flag is rejected in one line") {
  const Run run = agent("--bogus=1");
  CHECK(run.exit_code == 1);
  CHECK(isOneLine(run.output));
  CHECK_THAT(run.output, Catch::Contains("Unknown command line flag 'bogus'"));
}

TEST_CASE("flags are accepted with hyphens as documented") {
  const ConfigFile config(R"({"node_name": "node1"})");
  // Gets past flag parsing and config loading to the next check, which needs --node.
  const Run run =
      agent(absl::StrCat("--config=", config.path,
                         " --bpffs-root=/x --cgroup-root=/y "
                         "--capture-ipv4=10.244.1.1 --outbound-port=15001 "
                         "--admin-address=127.0.0.1 --admin-port=15020 --log-level=warn"));
  CHECK(run.output == "weft-agent: --node is required\n");
  CHECK(run.exit_code == 1);
}

TEST_CASE("a config source is required: --operator or --config, not both") {
  const std::string expected =
      "weft-agent: give exactly one of --operator (the config stream) and --config (a file, for "
      "debugging)\n";
  const std::string rest = "--node=node1 --bpffs-root=/x --cgroup-root=/y --capture-ipv4=10.0.0.1";
  CHECK(agent(rest).output == expected);
  CHECK(agent(rest + " --config=/c.json --operator=127.0.0.1:15012").output == expected);
}

TEST_CASE("the config stream (--operator) needs the operator's CA and the node token") {
  const std::string rest =
      "--node=node1 --bpffs-root=/x --cgroup-root=/y --capture-ipv4=10.0.0.1 "
      "--operator=127.0.0.1:15012";
  CHECK(agent(rest).output == "weft-agent: --operator-ca is required\n");
  CHECK(agent(rest + " --operator-ca=/nonexistent/ca.pem").output ==
        "weft-agent: --node-token-file is required\n");
  CHECK(agent(rest + " --operator-ca=/nonexistent/ca.pem --node-token-file=/t").output ==
        "weft-agent: --operator-ca: /nonexistent/ca.pem: No such file or directory\n");
}

TEST_CASE("bad --operator, --operator-ca and --node-token-file values are one line each") {
  weft::test::TempDir dir;
  const std::string ca = dir.path() + "/root.pem", token = dir.path() + "/token";
  std::ofstream(ca) << "not a PEM bundle\n";
  std::ofstream(token) << "node1-token-0123456789\n";
  const std::string node = "--node=node1 --bpffs-root=/x --cgroup-root=/y --capture-ipv4=10.0.0.1";
  const std::string rest = absl::StrCat(node, " --operator-ca=", ca, " --node-token-file=", token);

  Run run = agent(rest + " --operator=weft-operator");
  CHECK(run.output ==
        "weft-agent: --operator: \"weft-operator\" is not a host:port (e.g. "
        "weft-operator:15012)\n");
  CHECK(run.exit_code == 1);

  run = agent(rest + " --operator=weft-operator:15012");
  CHECK(isOneLine(run.output));
  CHECK_THAT(run.output, Catch::StartsWith(absl::StrCat("weft-agent: --operator-ca: ", ca, ": ")));

  // A readable bundle gets the token checked.
  auto root = weft::common::identity::CertificateAuthority::selfSigned("cluster.local",
                                                                       absl::Hours(1), absl::Now());
  REQUIRE(root.ok());
  std::ofstream(ca, std::ios::trunc) << *weft::common::identity::chainToPem(root->trustBundle());
  for (const auto& [content, error] :
       {std::pair{"", ": the file is empty"},
        {"  \n", ": the file is empty"},
        {"node1 node1-token-0123456789\n", ": holds more than the token (one word, one line)"}}) {
    std::ofstream(token, std::ios::trunc) << content;
    run = agent(rest + " --operator=weft-operator:15012");
    CHECK(run.output == absl::StrCat("weft-agent: --node-token-file: ", token, error, "\n"));
  }

  run = agent(absl::StrCat(node, " --config=/c.json --operator-ca=", ca));
  CHECK(run.output ==
        "weft-agent: --operator-ca and --node-token-file go with --operator, not with --config\n");
}

TEST_CASE("a malformed config file is reported with its path in one line") {
  const ConfigFile config(R"({"node_name": "node1", )");
  const Run run = agent(config.flags());
  CHECK(run.exit_code == 1);
  CHECK(isOneLine(run.output));
  CHECK_THAT(run.output, Catch::StartsWith(absl::StrCat("weft-agent: ", config.path,
                                                        ": not a valid NodeConfig JSON: ")));
}

TEST_CASE("a config with an unknown field or a bad value is reported by field path") {
  const ConfigFile unknown(R"({"node_name": "node1", "workload": []})");
  CHECK(agent(unknown.flags()).output ==
        absl::StrCat("weft-agent: ", unknown.path,
                     ": not a valid NodeConfig JSON: workload: unknown field\n"));
  const ConfigFile other_node(R"({"node_name": "node2"})");
  CHECK(agent(other_node.flags()).output ==
        absl::StrCat("weft-agent: ", other_node.path,
                     ": node_name: \"node2\" is not this node (\"node1\")\n"));
}

TEST_CASE("a bad capture address is named") {
  const ConfigFile config(R"({"node_name": "node1"})");
  const Run run = agent(config.flags() + " --capture-ipv4=10.244.1");
  CHECK(run.output == "weft-agent: --capture-ipv4: not an IP address: \"10.244.1\"\n");
}

TEST_CASE("running without root is refused in one line") {
  REQUIRE(agent("", "command -v setpriv >/dev/null &&").exit_code != 127);
  const ConfigFile config(R"({"node_name": "node1"})");
  const Run run = agent(config.flags(), "setpriv --reuid=65534 --regid=65534 --clear-groups");
  CHECK(run.output ==
        "weft-agent: must run as root (loading BPF programs needs CAP_BPF and CAP_NET_ADMIN)\n");
  CHECK(run.exit_code == 1);
}

TEST_CASE("a capture that cannot open prints its reason in one line") {
  const ConfigFile config(R"({"node_name": "node1"})");
  // --bpffs-root below a plain temp directory: not a bpffs, so nothing is loaded.
  const Run run = agent(config.flags());
  CHECK(run.exit_code == 1);
  CHECK(isOneLine(run.output));
  CHECK_THAT(run.output, Catch::StartsWith("weft-agent: "));
  CHECK_THAT(run.output, Catch::Contains("bpf"));
}

TEST_CASE("uninstall needs --bpffs-root") {
  const Run run = agent("--uninstall");
  CHECK(run.output == "weft-agent: --uninstall needs --bpffs-root\n");
  CHECK(run.exit_code == 1);
}

}  // namespace
