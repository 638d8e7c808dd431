// weft-operator's command line and its watch loop, run as a process: start-up failures
// are one clear line and exit code 1; a change in the source directory reaches the node
// config files; SIGTERM stops it cleanly. In Kubernetes mode it runs against the fake API
// server and writes the same files as directory mode.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "agent/config/config_stream_client.h"
#include "common/util/file.h"
#include "operator/source/yaml_objects.h"
#include "operator/source/yaml_reader.h"
#include "test/agent/testing/blocking_client.h"
#include "test/agent/testing/loopback_http.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/run_command.h"
#include "test/agent/testing/temp_dir.h"
#include "test/agent/testing/wait_for.h"
#include "test/operator/fake_apiserver/fake_apiserver.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

using Run = weft::test::CommandResult;

// `env` (e.g. "HOME=/x") is put before the command.
Run weftOperator(const std::string& args, const std::string& env = "") {
  return weft::test::runCommand(absl::StrCat(env, " ", WEFT_OPERATOR_BINARY, " ", args));
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
  CHECK(run.output ==
        "weft-operator: --node-tokens (the config stream) or --node-config-dir (files) is "
        "required\n");

  run = weftOperator("--dir=/tmp --once");
  CHECK(run.output == "weft-operator: --node-config-dir is required with --once\n");

  run = weftOperator("--dir=/tmp --node-tokens=/nonexistent");
  CHECK(run.output ==
        "weft-operator: --ca-dir is required with --node-tokens (the config stream's TLS "
        "certificate is issued from that CA)\n");

  run = weftOperator("--dir=/tmp --node-tokens=/t --ca-dir=/c --admin-address=nope");
  CHECK(run.output ==
        "weft-operator: --admin-address: \"nope\" is not an IP:port (e.g. 0.0.0.0:15014 or "
        "[::]:15014)\n");

  run = weftOperator("--dir=/tmp --node-tokens=/t --ca-dir=/c --grpc-address=localhost:15012");
  CHECK(run.output ==
        "weft-operator: --grpc-address: \"localhost:15012\" is not an IP:port (e.g. "
        "0.0.0.0:15014 or [::]:15014)\n");

  run = weftOperator("--dir=/tmp --node-tokens=/t --ca-dir=/c --workload-cert-ttl=0s");
  CHECK(run.output == "weft-operator: --workload-cert-ttl: must be positive, got 0\n");
  run = weftOperator("--dir=/tmp --node-tokens=/t --ca-dir=/c --workload-cert-ttl=soon");
  CHECK_THAT(run.output, Catch::Contains("Illegal value 'soon' specified for flag"));
  CHECK(run.exit_code == 1);

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
  // No --node-tokens: files only; an admin port of its own, tests run in parallel.
  const char* argv[] = {binary.c_str(),
                        dir_flag.c_str(),
                        out_flag.c_str(),
                        "--log-level=warn",
                        "--admin-address=127.0.0.1:0",
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
  // An admin port of its own: tests run in parallel.
  const char* argv[] = {binary.c_str(),    source_flag.c_str(),           kubeconfig_flag.c_str(),
                        out_flag.c_str(),  "--admin-address=127.0.0.1:0", nullptr};
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

// A loopback socket bound and listening on a port of its own: a port in use.
struct LoopbackListener {
  explicit LoopbackListener(int wanted_port = 0) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(wanted_port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0 || ::listen(fd, 1) != 0) {
      return;
    }
    socklen_t len = sizeof(sin);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
    port = ntohs(sin.sin_port);
  }
  ~LoopbackListener() { ::close(fd); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  int fd = -1;
  int port = 0;  // 0: the wanted port was taken
};

// Loopback addresses no one listens on, all different, for a child process to listen on.
// Below the kernel's ephemeral range (32768 and up), so no client socket of this or another
// test takes one of them meanwhile.
std::vector<std::string> freeLoopbackAddresses(int n) {
  std::vector<std::string> out;
  std::mt19937 random(std::random_device{}());
  while (static_cast<int>(out.size()) < n) {
    const LoopbackListener probe(std::uniform_int_distribution(20'000, 32'000)(random));
    if (probe.port != 0 && std::find(out.begin(), out.end(), probe.address()) == out.end()) {
      out.push_back(probe.address());
    }
  }
  return out;
}

std::string freeLoopbackAddress() {
  return freeLoopbackAddresses(1)[0];
}

constexpr char kNode1Token[] = "node1-token-0123456789abcdef";

// The demo cluster, tokens for its nodes and a CA directory: what the stream needs.
struct StreamInputs {
  StreamInputs() {
    writeFile(tokens,
              absl::StrCat("node1 ", kNode1Token, "\nnode2 node2-token-0123456789abcdef\n"));
  }
  std::string flags() const {
    return absl::StrCat("--dir=", WEFT_TESTDATA_DIR, "/demo/input --node-tokens=", tokens,
                        " --ca-dir=", ca_dir);
  }
  weft::test::TempDir dir;
  std::string tokens = dir.path() + "/tokens";
  std::string ca_dir = dir.path() + "/ca";
};

TEST_CASE("the config stream's token file, CA directory and ports are checked at start") {
  StreamInputs in;
  const std::string dir = WEFT_TESTDATA_DIR + std::string("/demo/input");
  const std::string ca = " --ca-dir=" + in.ca_dir;
  Run run = weftOperator(absl::StrCat("--dir=", dir, " --node-tokens=/nonexistent/tokens", ca));
  CHECK(run.output ==
        "weft-operator: --node-tokens: /nonexistent/tokens: No such file or directory\n");
  CHECK(run.exit_code == 1);

  const std::string bad = in.dir.path() + "/bad-tokens";
  for (const auto& [content, error] : std::vector<std::pair<std::string, std::string>>{
           {"node1\n", "line 1: expected \"<node> <token>\""},
           {"# comment\nnode1 short\n",
            "line 2: the token of node node1 is shorter than 16 characters"},
           {"# nothing but comments\n", "no tokens (no agent could connect)"}}) {
    writeFile(bad, content);
    run = weftOperator(absl::StrCat("--dir=", dir, " --node-tokens=", bad, ca));
    CHECK(run.output == absl::StrCat("weft-operator: --node-tokens: ", bad, ": ", error, "\n"));
  }

  // A CA directory that is a file, and one whose CA does not parse.
  writeFile(in.dir.path() + "/plain-file", "x");
  run = weftOperator(absl::StrCat("--dir=", dir, " --node-tokens=", in.tokens,
                                  " --ca-dir=", in.dir.path(), "/plain-file"));
  CHECK_THAT(run.output, Catch::StartsWith(absl::StrCat("weft-operator: --ca-dir: cannot create ",
                                                        in.dir.path(), "/plain-file")));
  CHECK(run.exit_code == 1);
  fs::create_directories(in.dir.path() + "/garbled");
  writeFile(in.dir.path() + "/garbled/ca.pem", "not a certificate");
  writeFile(in.dir.path() + "/garbled/ca-key.pem", "not a key");
  run = weftOperator(absl::StrCat("--dir=", dir, " --node-tokens=", in.tokens,
                                  " --ca-dir=", in.dir.path(), "/garbled"));
  CHECK_THAT(run.output, Catch::StartsWith(absl::StrCat("weft-operator: --ca-dir: the CA in ",
                                                        in.dir.path(), "/garbled: ")));
  CHECK(std::count(run.output.begin(), run.output.end(), '\n') == 1);

  const LoopbackListener taken;
  run = weftOperator(absl::StrCat(in.flags(), " --grpc-address=", taken.address(),
                                  " --admin-address=", freeLoopbackAddress(), " --log-level=warn"));
  CHECK(run.output == absl::StrCat("weft-operator: --grpc-address: cannot listen on ",
                                   taken.address(), ": Address already in use\n"));
  CHECK(run.exit_code == 1);
  run = weftOperator(absl::StrCat(in.flags(), " --grpc-address=", freeLoopbackAddress(),
                                  " --admin-address=", taken.address(), " --log-level=warn"));
  CHECK(run.output == absl::StrCat("weft-operator: --admin-address: http server ", taken.address(),
                                   ": Address already in use\n"));
}

// weft-operator as a child process, killed if the test ends before it was reaped.
struct OperatorProcess {
  explicit OperatorProcess(const std::vector<std::string>& flags) {
    std::vector<std::string> args{WEFT_OPERATOR_BINARY};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    REQUIRE(::posix_spawn(&child.pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  }
  // SIGTERM, then the exit code (-1: not a normal exit).
  int stop() {
    REQUIRE(::kill(child.pid, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
    child.pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  Child child;
};

bool listening(const std::string& address) {
  weft::test::BlockingClient client;
  return client.connect(*weft::common::SocketAddress::Parse(address));
}

std::string goldenVersion(const std::string& node) {
  const auto golden =
      weft::common::readFile(absl::StrCat(WEFT_TESTDATA_DIR, "/demo/expected/", node, ".json"));
  REQUIRE(golden.ok());
  const size_t at = golden->find("\"version\": \"");
  REQUIRE(at != std::string::npos);
  return golden->substr(at + 12, 16);
}

TEST_CASE("with --node-tokens an agent follows its config over TLS, across an operator restart") {
  StreamInputs in;
  const std::vector<std::string> ports = freeLoopbackAddresses(2);
  const std::string grpc = ports[0], admin = ports[1];
  const std::vector<std::string> flags{"--dir=" + std::string(WEFT_TESTDATA_DIR) + "/demo/input",
                                       "--node-tokens=" + in.tokens,
                                       "--ca-dir=" + in.ca_dir,
                                       "--grpc-address=" + grpc,
                                       "--admin-address=" + admin,
                                       "--log-level=warn"};
  auto op = std::make_unique<OperatorProcess>(flags);
  REQUIRE(weft::test::waitFor([&] { return listening(admin) && listening(grpc); }));
  const auto admin_address = *weft::common::SocketAddress::Parse(admin);
  CHECK(weft::test::waitFor(
      [&] { return weft::test::httpGet(admin_address, "/ready").first == 200; }));
  const auto root_pem = weft::common::readFile(in.ca_dir + "/root.pem");
  REQUIRE(root_pem.ok());

  weft::agent::config::ConfigStore store;
  weft::agent::telemetry::Metrics metrics;
  weft::agent::config::ConfigStreamClient agent(
      {.endpoint = {.target = grpc,
                    .token = kNode1Token,
                    .credentials = weft::agent::config::operatorTlsCredentials(*root_pem)},
       .node_name = "node1",
       .initial_backoff = std::chrono::milliseconds(10),
       .max_backoff = std::chrono::milliseconds(200)},
      store, metrics);
  agent.start();
  const std::string version = goldenVersion("node1");
  REQUIRE(weft::test::waitFor(
      [&] { return store.current() != nullptr && store.current()->version() == version; }));
  const auto served = store.current();
  CHECK(served->config().services_size() == 1);
  CHECK(weft::test::waitFor([&] {
    return weft::test::httpGet(admin_address, "/debug/agents")
               .second.find(absl::StrCat("\"acked_version\": \"", version, "\"")) !=
           std::string::npos;
  }));
  CHECK_THAT(weft::test::httpGet(admin_address, "/metrics").second,
             Catch::Contains("weft_operator_connected_agents 1"));

  // Stopped: the agent keeps what it has. Back with the same inputs (and CA): nothing new.
  CHECK(op->stop() == 0);
  auto connected = [&] {
    return weft::test::gaugeValue(*metrics.registry(), "weft_config_stream_connected") == 1;
  };
  CHECK(weft::test::waitFor([&] { return !connected(); }));
  CHECK(store.current() == served);
  op = std::make_unique<OperatorProcess>(flags);
  REQUIRE(weft::test::waitFor([&] {
    return listening(admin) && weft::test::httpGet(admin_address, "/debug/agents")
                                       .second.find(absl::StrCat("\"acked_version\": \"", version,
                                                                 "\"")) != std::string::npos;
  }));
  CHECK(connected());
  CHECK(store.current() == served);
  CHECK_THAT(weft::test::httpGet(admin_address, "/metrics").second,
             !Catch::Contains("weft_operator_push_resources_total{"));
  agent.stop();
  CHECK(op->stop() == 0);
}

}  // namespace
