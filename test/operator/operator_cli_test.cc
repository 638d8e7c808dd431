// weft-operator's command line and its watch loop, run as a process: start-up failures
// are one clear line and exit code 1; a change in the source directory reaches the node
// config files; SIGTERM stops it cleanly. In Kubernetes mode it runs against the fake API
// server and writes the same files as directory mode.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/util/file.h"
#include "operator/source/yaml_objects.h"
#include "operator/source/yaml_reader.h"
#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/wait_for.h"
#include "test/operator/fake_apiserver/fake_apiserver.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `env` (e.g. "HOME=/x") is put before the command.
Run weftOperator(const std::string& args, const std::string& env = "") {
  Run run;
  const std::string command = absl::StrCat(env, " ", WEFT_OPERATOR_BINARY, " ", args, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    run.output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

void writeFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

std::string pod(const std::string& name, const std::string& node, const std::string& ip) {
  return absl::StrCat("apiVersion: v1\nkind: Pod\nmetadata: {name: ", name,
                      ", namespace: demo, uid: uid-", name, "}\nspec: {nodeName: ", node,
                      "}\nstatus: {phase: Running, podIP: ", ip, "}\n");
}

// Kills the child if the test ends before it was reaped (a failed REQUIRE).
struct Child {
  pid_t pid = 0;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

// SIGTERM ends the operator with exit code 0.
void stopsOnSigterm(Child& child) {
  REQUIRE(::kill(child.pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  child.pid = 0;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

// The demo cluster's node configs in `out` are the golden ones.
void checkDemoConfigs(const std::string& out) {
  for (const std::string node : {"node1", "node2"}) {
    INFO(node);
    const auto written = weft::common::readFile(absl::StrCat(out, "/", node, ".json"));
    const auto golden =
        weft::common::readFile(absl::StrCat(WEFT_TESTDATA_DIR, "/demo/expected/", node, ".json"));
    REQUIRE(written.ok());
    CHECK(*written == *golden);
  }
}

TEST_CASE("flags: unknown ones, missing ones and bad values are one line each") {
  Run run = weftOperator("--bogus=1");
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.output, Catch::Contains("Unknown command line flag 'bogus'"));

  run = weftOperator("--node-config-dir=/tmp/x");
  CHECK(run.output == "weft-operator: --dir is required with --source=directory\n");
  CHECK(run.exit_code == 1);

  run = weftOperator("--dir=/tmp");
  CHECK(run.output == "weft-operator: --node-config-dir is required\n");

  run = weftOperator("--source=ftp --node-config-dir=/tmp/x");
  CHECK(run.output ==
        "weft-operator: --source: \"ftp\" is not supported (\"directory\" or \"kubernetes\")\n");

  run = weftOperator("--source=kubernetes --dir=/tmp --node-config-dir=/tmp/x");
  CHECK(run.output == "weft-operator: --dir is for --source=directory only\n");

  run = weftOperator("--kubeconfig=/k --dir=/tmp --node-config-dir=/tmp/x");
  CHECK(run.output == "weft-operator: --kubeconfig is for --source=kubernetes only\n");

  run = weftOperator("--log-level=loud");
  CHECK(run.output == "weft-operator: --log-level: unknown level \"loud\"\n");

  run = weftOperator("--dir=/tmp extra");
  CHECK(run.output == "weft-operator: unexpected argument \"extra\"\n");
}

TEST_CASE("a missing source directory and an invalid file stop the start") {
  weft::test::TempDir dir;
  Run run = weftOperator(
      absl::StrCat("--dir=", dir.path(), "/nope --node-config-dir=", dir.path(), "/out"));
  CHECK(run.output == absl::StrCat("weft-operator: ", dir.path(), "/nope: no such directory\n"));
  CHECK(run.exit_code == 1);

  fs::create_directories(dir.path() + "/in");
  writeFile(dir.path() + "/in/bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
  run = weftOperator(
      absl::StrCat("--dir=", dir.path(), "/in --node-config-dir=", dir.path(), "/out --once"));
  CHECK(run.output ==
        "weft-operator: bad.yaml: document 1 (Pod default/p): metadata.uid: required (the agent "
        "finds a pod's cgroup by it) (the file is left out until it parses)\n");
  CHECK(run.exit_code == 1);
}

TEST_CASE("with --once each node's config is written and the operator exits") {
  weft::test::TempDir dir;
  const Run run = weftOperator(absl::StrCat("--dir=", WEFT_TESTDATA_DIR,
                                            "/demo/input --node-config-dir=", dir.path(),
                                            "/out --once --log-level=warn"));
  CHECK(run.output.empty());
  CHECK(run.exit_code == 0);
  checkDemoConfigs(dir.path() + "/out");
}

TEST_CASE("while running, a change in the directory reaches the config files; SIGTERM stops") {
  weft::test::TempDir dir;
  const std::string in = dir.path() + "/in", out = dir.path() + "/out";
  fs::create_directories(in);
  writeFile(in + "/pods.yaml", pod("a", "node1", "10.244.1.10"));
  const std::string binary = WEFT_OPERATOR_BINARY;
  const std::string dir_flag = "--dir=" + in, out_flag = "--node-config-dir=" + out;
  const char* argv[] = {binary.c_str(), dir_flag.c_str(), out_flag.c_str(), "--log-level=warn",
                        nullptr};
  Child child;
  REQUIRE(::posix_spawn(&child.pid, binary.c_str(), nullptr, nullptr, const_cast<char**>(argv),
                        environ) == 0);
  auto fileHas = [](const std::string& path, const std::string& text) {
    auto content = weft::common::readFile(path);
    return content.ok() && content->find(text) != std::string::npos;
  };
  CHECK(weft::test::waitFor([&] { return fileHas(out + "/node1.json", "10.244.1.10"); }));

  writeFile(in + "/more.yaml", pod("b", "node2", "10.244.2.10"));
  CHECK(weft::test::waitFor([&] { return fileHas(out + "/node2.json", "10.244.2.10"); }));

  fs::remove(in + "/more.yaml");  // node2's last pod is gone: its config empties
  CHECK(weft::test::waitFor([&] { return !fileHas(out + "/node2.json", "10.244.2.10"); }));
  CHECK(fileHas(out + "/node2.json", "\"node_name\": \"node2\""));

  stopsOnSigterm(child);
}

// --- Kubernetes mode ---------------------------------------------------------------------

// A fake API server holding the objects of a directory of YAML (each file's documents).
void loadCluster(weft::test::kube::FakeApiServer& server, const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto text = weft::common::readFile(entry.path().string());
    REQUIRE(text.ok());
    auto documents = weft::op::loadYamlDocuments(*text, entry.path().string());
    REQUIRE(documents.ok());
    for (const YAML::Node& document : *documents) {
      auto json = weft::op::YamlValue(document).json();
      REQUIRE(json.ok());
      server.store().apply(nlohmann::json::parse(*json));
    }
  }
}

std::string writeKubeconfig(const std::string& dir, const std::string& server,
                            const std::string& ca_pem, const std::string& token) {
  const std::string path = dir + "/kubeconfig";
  writeFile(path, absl::StrCat("apiVersion: v1\nkind: Config\ncurrent-context: test\n",
                               "clusters:\n- name: fake\n  cluster:\n    server: ", server,
                               "\n    certificate-authority-data: ", absl::Base64Escape(ca_pem),
                               "\ncontexts:\n- name: test\n  context: {cluster: fake, user: op}\n",
                               "users:\n- name: op\n  user: {token: ", token, "}\n"));
  return path;
}

TEST_CASE("kubernetes mode: the same cluster gives the same files as directory mode") {
  weft::test::TempDir dir;
  weft::test::kube::FakeApiServer server;
  REQUIRE(server.start().ok());
  server.addToken("operator-token", {.name = "system:serviceaccount:weft:operator"});
  loadCluster(server, absl::StrCat(WEFT_TESTDATA_DIR, "/demo/input"));
  const std::string kubeconfig =
      writeKubeconfig(dir.path(), server.url(), server.caPem(), "operator-token");
  const Run run =
      weftOperator(absl::StrCat("--source=kubernetes --kubeconfig=", kubeconfig,
                                " --node-config-dir=", dir.path(), "/out --once --log-level=warn"));
  CHECK(run.output.empty());
  CHECK(run.exit_code == 0);
  checkDemoConfigs(dir.path() + "/out");
}

TEST_CASE("kubernetes mode: no cluster or a bad kubeconfig is one line at start") {
  weft::test::TempDir dir;
  Run run = weftOperator(absl::StrCat("--source=kubernetes --node-config-dir=", dir.path()),
                         "env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST HOME=/nonexistent");
  CHECK(run.output ==
        "weft-operator: no Kubernetes API to talk to: not in a pod (KUBERNETES_SERVICE_HOST is "
        "not set), and no --kubeconfig, $KUBECONFIG or ~/.kube/config\n");
  CHECK(run.exit_code == 1);

  writeFile(dir.path() + "/kubeconfig", "current-context: x\n");
  run = weftOperator(absl::StrCat("--source=kubernetes --kubeconfig=", dir.path(),
                                  "/kubeconfig --node-config-dir=", dir.path()));
  CHECK(run.output == absl::StrCat("weft-operator: kubeconfig ", dir.path(),
                                   "/kubeconfig: context \"x\" is not defined\n"));
  CHECK(run.exit_code == 1);
}

TEST_CASE("kubernetes mode: an unreachable API is logged and retried; SIGTERM stops") {
  weft::test::TempDir dir;
  const std::string kubeconfig =
      writeKubeconfig(dir.path(), "https://127.0.0.1:1", "not a CA", "t");
  const std::string log = dir.path() + "/log";
  const std::string binary = WEFT_OPERATOR_BINARY;
  const std::string source_flag = "--source=kubernetes";
  const std::string kubeconfig_flag = "--kubeconfig=" + kubeconfig;
  const std::string out_flag = "--node-config-dir=" + dir.path() + "/out";
  const char* argv[] = {binary.c_str(), source_flag.c_str(), kubeconfig_flag.c_str(),
                        out_flag.c_str(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  Child child;
  REQUIRE(::posix_spawn(&child.pid, binary.c_str(), &actions, nullptr, const_cast<char**>(argv),
                        environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  CHECK(weft::test::waitFor([&] {
    auto text = weft::common::readFile(log);
    return text.ok() &&
           text->find(
               "pods: list: GET https://127.0.0.1:1/api/v1/pods?limit=500: Couldn't "
               "connect to server") != std::string::npos &&
           text->find("(retrying in ") != std::string::npos;
  }));
  stopsOnSigterm(child);
}

}  // namespace
