#pragma once

// Where the Kubernetes API is and how to authenticate to it, found as client-go finds it:
//   1. --kubeconfig, else $KUBECONFIG (several files joined with ':' are merged);
//   2. in a pod: the service account (KUBERNETES_SERVICE_HOST/_PORT, and token, ca.crt and
//      namespace in /var/run/secrets/kubernetes.io/serviceaccount);
//   3. ~/.kube/config.
// Every missing or malformed piece is a one-line error naming the file and the field.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft::op::kube {

struct ClusterConfig {
  std::string server{};  // "https://10.96.0.1:443"
  std::string ca_pem{};  // the CAs the server's certificate must chain to; empty: the system's
  bool insecure_skip_tls_verify = false;
  std::string token{};       // a bearer token
  std::string token_file{};  // a file holding the token, re-read as it rotates; wins over `token`
  std::string client_cert_pem{};  // a client certificate and its key, instead of a token
  std::string client_key_pem{};
  std::string namespace_name{};  // the pod's (in-cluster) or the context's namespace; may be empty
  std::string origin{};          // "in-cluster service account", "kubeconfig a.yaml (context x)"
};

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// In a pod: the values of KUBERNETES_SERVICE_HOST and _PORT, and the mounted service account.
struct InClusterEnv {
  std::string service_host{};
  std::string service_port{};
  std::string service_account_dir = kServiceAccountDir;
};

absl::StatusOr<ClusterConfig> inClusterConfig(const InClusterEnv& env);

// A kubeconfig made of `paths` (merged as kubectl merges them: the first file to name a
// cluster, user or context, or to set current-context, wins). `context` overrides
// current-context when not empty.
absl::StatusOr<ClusterConfig> kubeconfigConfig(const std::vector<std::string>& paths,
                                               absl::string_view context = "");

// What discovery looks at, read from the process environment by fromEnvironment() and
// given explicitly by tests.
struct DiscoveryInputs {
  std::string kubeconfig_flag{};  // --kubeconfig
  std::string kubeconfig_env{};   // $KUBECONFIG
  InClusterEnv in_cluster{};
  std::string home{};  // $HOME, for ~/.kube/config

  static DiscoveryInputs fromEnvironment(std::string kubeconfig_flag);
};

absl::StatusOr<ClusterConfig> discoverClusterConfig(const DiscoveryInputs& inputs);

}  // namespace weft::op::kube
