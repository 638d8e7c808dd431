#include "operator/kube/cluster_config.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "test/agent/testing/temp_dir.h"

namespace weft::op::kube {
namespace {

namespace fs = std::filesystem;

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

ClusterConfig ok(absl::StatusOr<ClusterConfig> config) {
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *std::move(config);
}

std::string error(const absl::StatusOr<ClusterConfig>& config) {
  REQUIRE_FALSE(config.ok());
  return std::string(config.status().message());
}

// A service account mount like the kubelet's.
struct ServiceAccount {
  test::TempDir dir;
  ServiceAccount() {
    writeFile(dir.path() + "/token", "sa-token\n");
    writeFile(dir.path() + "/ca.crt", "CA PEM");
    writeFile(dir.path() + "/namespace", "weft-system");
  }
  InClusterEnv env(std::string host = "10.96.0.1", std::string port = "443") const {
    return {std::move(host), std::move(port), dir.path()};
  }
};

TEST_CASE("in-cluster: the service's address, the service account's token file and CA") {
  ServiceAccount sa;
  ClusterConfig config = ok(inClusterConfig(sa.env()));
  CHECK(config.server == "https://10.96.0.1:443");
  CHECK(config.token_file == sa.dir.path() + "/token");
  CHECK(config.token.empty());
  CHECK(config.ca_pem == "CA PEM");
  CHECK(config.namespace_name == "weft-system");
  CHECK_THAT(config.origin, Catch::StartsWith("in-cluster service account"));

  CHECK(ok(inClusterConfig(sa.env("fd00:10:96::1", "6443"))).server ==
        "https://[fd00:10:96::1]:6443");
}

TEST_CASE("in-cluster: what is missing or malformed is one clear line") {
  ServiceAccount sa;
  CHECK_THAT(error(inClusterConfig(sa.env("", "443"))),
             Catch::StartsWith("in-cluster config: KUBERNETES_SERVICE_HOST and "
                               "KUBERNETES_SERVICE_PORT must be set"));
  CHECK(error(inClusterConfig(sa.env("10.96.0.1", "https"))) ==
        "in-cluster config: KUBERNETES_SERVICE_PORT: \"https\" is not a port number");
  fs::remove(sa.dir.path() + "/ca.crt");
  CHECK_THAT(error(inClusterConfig(sa.env())),
             Catch::StartsWith("in-cluster config: the cluster CA certificate: " + sa.dir.path() +
                               "/ca.crt: "));
  writeFile(sa.dir.path() + "/token", "");
  CHECK(error(inClusterConfig(sa.env())) ==
        "in-cluster config: the service account token: " + sa.dir.path() + "/token is empty");
}

constexpr char kKubeconfig[] = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: certs/ca.crt
- name: prod-cluster
  cluster:
    server: https://prod.example:443
    certificate-authority-data: Q0EgREFUQQ==
    insecure-skip-tls-verify: true
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
- name: plugin
  context: {cluster: prod-cluster, user: plugin-user}
users:
- name: dev-user
  user:
    client-certificate: certs/client.crt
    client-key: certs/client.key
- name: prod-user
  user:
    token: prod-token
- name: plugin-user
  user:
    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}
)";

struct KubeconfigDir {
  test::TempDir dir;
  std::string path;
  KubeconfigDir() : path(dir.path() + "/config") {
    writeFile(path, kKubeconfig);
    writeFile(dir.path() + "/certs/ca.crt", "DEV CA");
    writeFile(dir.path() + "/certs/client.crt", "CLIENT CERT");
    writeFile(dir.path() + "/certs/client.key", "CLIENT KEY");
  }
};

TEST_CASE("kubeconfig: the current context's cluster and user, files relative to it") {
  KubeconfigDir k;
  ClusterConfig config = ok(kubeconfigConfig({k.path}));
  CHECK(config.server == "https://127.0.0.1:6443");
  CHECK(config.ca_pem == "DEV CA");
  CHECK(config.client_cert_pem == "CLIENT CERT");
  CHECK(config.client_key_pem == "CLIENT KEY");
  CHECK(config.namespace_name == "team");
  CHECK(config.origin == "kubeconfig " + k.path + " (context dev)");
  CHECK_FALSE(config.insecure_skip_tls_verify);

  config = ok(kubeconfigConfig({k.path}, "prod"));
  CHECK(config.server == "https://prod.example:443");
  CHECK(config.ca_pem == "CA DATA");
  CHECK(config.insecure_skip_tls_verify);
  CHECK(config.token == "prod-token");
  CHECK(config.client_cert_pem.empty());
}

TEST_CASE("kubeconfig: several files merge, the first to set a value wins") {
  KubeconfigDir k;
  const std::string extra = k.dir.path() + "/extra";
  writeFile(extra, R"(current-context: prod
clusters:
- name: dev-cluster
  cluster: {server: https://ignored:1}
users:
- name: token-file-user
  user: {tokenFile: token}
contexts:
- name: from-extra
  context: {cluster: dev-cluster, user: token-file-user}
)");
  writeFile(k.dir.path() + "/token", "t");
  // The first file's current-context (dev) wins over the second's (prod).
  CHECK(ok(kubeconfigConfig({k.path, extra})).origin ==
        "kubeconfig " + k.path + ":" + extra + " (context dev)");
  ClusterConfig config = ok(kubeconfigConfig({k.path, extra}, "from-extra"));
  CHECK(config.server == "https://127.0.0.1:6443");  // dev-cluster as the first file has it
  CHECK(config.token_file == k.dir.path() + "/token");
}

TEST_CASE("kubeconfig: every problem names the file and the field") {
  KubeconfigDir k;
  CHECK(error(kubeconfigConfig({k.path}, "plugin")) ==
        "kubeconfig " + k.path +
            ": users[2].user.exec: not supported by weft-operator; give the user a token, "
            "tokenFile or client certificate");
  CHECK(error(kubeconfigConfig({k.path}, "nope")) ==
        "kubeconfig " + k.path + ": context \"nope\" is not defined");

  const std::string bad = k.dir.path() + "/bad";
  auto check = [&](const std::string& text, const std::string& expected) {
    writeFile(bad, text);
    CHECK(error(kubeconfigConfig({bad})) == expected);
  };
  check("clusters: []\n", "kubeconfig " + bad + ": current-context is not set");
  check("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n",
        "kubeconfig " + bad + ": context \"a\" names cluster \"c\", not defined");
  check(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://x'}}]\n",
      "kubeconfig " + bad + ": context \"a\" names user \"u\", not defined");
  check(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {server: x.example:443}}]\n",
      "kubeconfig " + bad +
          ": clusters[0].cluster.server: \"x.example:443\" must start with https:// or "
          "http://");
  check(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {}}]\n",
      "kubeconfig " + bad + ": clusters[0].cluster.server: required");
  check(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://x', "
      "certificate-authority-data: '***'}}]\n",
      "kubeconfig " + bad + ": clusters[0].cluster.certificate-authority-data: not valid base64");
  check(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
      "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n",
      "kubeconfig " + bad +
          ": users[0].user: a client certificate needs its key, and a key its certificate");
  check("current-context: a\nclusters: [{name: c, cluster: {server: 8}}]\n",
        "kubeconfig " + bad +
            ": clusters[0].cluster.server: must be a string, got number 8 "
            "(quote it)");
  check("clusters: [\n",
        "kubeconfig " + bad + ": line 2, column 1: end of sequence flow not found");
  check("a: 1\n---\nb: 2\n", "kubeconfig " + bad + ": must hold one YAML document, found 2");
  CHECK_THAT(error(kubeconfigConfig({k.dir.path() + "/missing"})),
             Catch::Contains("/missing: No such file or directory"));
}

TEST_CASE("discovery: --kubeconfig, then $KUBECONFIG, then in-cluster, then ~/.kube/config") {
  KubeconfigDir k;
  ServiceAccount sa;
  DiscoveryInputs inputs{.kubeconfig_flag = k.path,
                         .kubeconfig_env = "/nowhere",
                         .in_cluster = sa.env(),
                         .home = k.dir.path()};
  CHECK_THAT(ok(discoverClusterConfig(inputs)).origin, Catch::StartsWith("kubeconfig "));
  inputs.kubeconfig_flag.clear();
  // $KUBECONFIG's files that do not exist are skipped, as kubectl skips them.
  inputs.kubeconfig_env = "/nowhere:" + k.path;
  CHECK(ok(discoverClusterConfig(inputs)).server == "https://127.0.0.1:6443");
  inputs.kubeconfig_env = "/nowhere";
  CHECK(error(discoverClusterConfig(inputs)) == "$KUBECONFIG: no file of \"/nowhere\" exists");
  inputs.kubeconfig_env.clear();
  CHECK_THAT(ok(discoverClusterConfig(inputs)).origin, Catch::StartsWith("in-cluster"));
  inputs.in_cluster.service_host.clear();
  writeFile(k.dir.path() + "/.kube/config", kKubeconfig);
  writeFile(k.dir.path() + "/.kube/certs/ca.crt", "HOME CA");
  writeFile(k.dir.path() + "/.kube/certs/client.crt", "C");
  writeFile(k.dir.path() + "/.kube/certs/client.key", "K");
  CHECK(ok(discoverClusterConfig(inputs)).ca_pem == "HOME CA");
  inputs.home = "/nonexistent-home";
  CHECK_THAT(error(discoverClusterConfig(inputs)),
             Catch::StartsWith("no Kubernetes API to talk to: not in a pod"));
}

}  // namespace
}  // namespace weft::op::kube
