#include "operator/kube/cluster_config.h"

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "operator/source/yaml_objects.h"
#include "operator/source/yaml_reader.h"

namespace weft::op::kube {

namespace fs = std::filesystem;

namespace {

// --- in-cluster ------------------------------------------------------------------------------

absl::StatusOr<std::string> readRequiredFile(const std::string& path, absl::string_view what) {
  auto text = common::readFile(path);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-cluster config: ", what, ": ", text.status().message()));
  }
  if (absl::StripAsciiWhitespace(*text).empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-cluster config: ", what, ": ", path, " is empty"));
  }
  return text;
}

absl::Status checkPort(absl::string_view port, absl::string_view what) {
  int number = 0;
  if (!absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", absl::CHexEscape(port), "\" is not a port number"));
  }
  return absl::OkStatus();
}

// --- kubeconfig ------------------------------------------------------------------------------

// The entries of a kubeconfig as written, file paths made absolute (relative ones are
// relative to the file that names them). Only the entries the chosen context uses are
// checked further and have their files read.
struct RawCluster {
  std::string where{};  // "kubeconfig a.yaml: clusters[0].cluster", for errors
  std::string server{};
  std::string ca_file{};
  std::string ca_data{};
  bool insecure = false;
};

struct RawUser {
  std::string where{};
  std::string token{};
  std::string token_file{};
  std::string cert_file{};
  std::string cert_data{};
  std::string key_file{};
  std::string key_data{};
  std::string unsupported{};  // "exec", "auth-provider", "username": what cannot be used
};

struct RawContext {
  std::string cluster{};
  std::string user{};
  std::string namespace_name{};
};

struct Kubeconfig {
  std::string current_context;
  std::string current_context_file;
  absl::btree_map<std::string, RawCluster> clusters;
  absl::btree_map<std::string, RawUser> users;
  absl::btree_map<std::string, RawContext> contexts;
};

absl::Status inFile(const std::string& file, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("kubeconfig ", file, ": ", status.message()));
}

std::string resolve(const std::string& file, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) {
    return path;
  }
  return (fs::path(file).parent_path() / path).lexically_normal().string();
}

// The named entries of list `key` ("clusters"), each handed with its inner map
// ("cluster") to `read`.
template <typename Read>
absl::Status readNamedList(const YamlMap& root, const char* key, const char* inner, Read read) {
  ASSIGN_OR_RETURN(const std::vector<YamlValue> items, root.get(key).list());
  for (const YamlValue& item : items) {
    ASSIGN_OR_RETURN(const YamlMap entry, item.map());
    ASSIGN_OR_RETURN(const std::string name, entry.get("name").string());
    if (name.empty()) {
      return entry.get("name").error("required");
    }
    ASSIGN_OR_RETURN(const YamlMap fields, entry.get(inner).map());
    RETURN_IF_ERROR(read(name, fields, entry.get(inner).path()));
  }
  return absl::OkStatus();
}

absl::Status readClusters(const YamlMap& root, const std::string& file, Kubeconfig& config) {
  return readNamedList(
      root, "clusters", "cluster",
      [&](const std::string& name, const YamlMap& c, const std::string& path) -> absl::Status {
        RawCluster cluster{.where = absl::StrCat("kubeconfig ", file, ": ", path)};
        ASSIGN_OR_RETURN(cluster.server, c.get("server").string());
        ASSIGN_OR_RETURN(const std::string ca_file, c.get("certificate-authority").string());
        cluster.ca_file = resolve(file, ca_file);
        ASSIGN_OR_RETURN(cluster.ca_data, c.get("certificate-authority-data").string());
        ASSIGN_OR_RETURN(cluster.insecure, c.get("insecure-skip-tls-verify").boolean(false));
        config.clusters.try_emplace(name, std::move(cluster));
        return absl::OkStatus();
      });
}

absl::Status readUsers(const YamlMap& root, const std::string& file, Kubeconfig& config) {
  return readNamedList(
      root, "users", "user",
      [&](const std::string& name, const YamlMap& u, const std::string& path) -> absl::Status {
        RawUser user{.where = absl::StrCat("kubeconfig ", file, ": ", path)};
        ASSIGN_OR_RETURN(user.token, u.get("token").string());
        ASSIGN_OR_RETURN(const std::string token_file, u.get("tokenFile").string());
        user.token_file = resolve(file, token_file);
        ASSIGN_OR_RETURN(const std::string cert_file, u.get("client-certificate").string());
        user.cert_file = resolve(file, cert_file);
        ASSIGN_OR_RETURN(user.cert_data, u.get("client-certificate-data").string());
        ASSIGN_OR_RETURN(const std::string key_file, u.get("client-key").string());
        user.key_file = resolve(file, key_file);
        ASSIGN_OR_RETURN(user.key_data, u.get("client-key-data").string());
        for (const char* field : {"exec", "auth-provider", "username"}) {
          if (u.get(field).present() && user.unsupported.empty()) {
            user.unsupported = field;
          }
        }
        config.users.try_emplace(name, std::move(user));
        return absl::OkStatus();
      });
}

absl::Status readContexts(const YamlMap& root, Kubeconfig& config) {
  return readNamedList(
      root, "contexts", "context",
      [&](const std::string& name, const YamlMap& c, const std::string&) -> absl::Status {
        RawContext context;
        ASSIGN_OR_RETURN(context.cluster, c.get("cluster").string());
        ASSIGN_OR_RETURN(context.user, c.get("user").string());
        ASSIGN_OR_RETURN(context.namespace_name, c.get("namespace").string());
        config.contexts.try_emplace(name, std::move(context));
        return absl::OkStatus();
      });
}

// Reads one file into `config`, keeping what earlier files set.
absl::Status mergeFile(const std::string& file, Kubeconfig& config) {
  auto text = common::readFile(file);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("kubeconfig: ", text.status().message()));
  }
  ASSIGN_OR_RETURN(const std::vector<YAML::Node> documents,
                   loadYamlDocuments(*text, absl::StrCat("kubeconfig ", file)));
  if (documents.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kubeconfig ", file, ": must hold one YAML document, found ", documents.size()));
  }
  absl::Status read = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(const YamlMap root, YamlValue(documents[0]).map());
    ASSIGN_OR_RETURN(const std::string current, root.get("current-context").string());
    if (config.current_context.empty() && !current.empty()) {
      config.current_context = current;
      config.current_context_file = file;
    }
    RETURN_IF_ERROR(readClusters(root, file, config));
    RETURN_IF_ERROR(readUsers(root, file, config));
    return readContexts(root, config);
  }();
  // readClusters and readUsers name the file themselves; YamlValue errors do not.
  if (!read.ok() && !absl::StartsWith(read.message(), "kubeconfig ")) {
    return inFile(file, read);
  }
  return read;
}

// The bytes of a `*-data` field (base64) or of the file the other field names.
absl::StatusOr<std::string> dataOrFile(const std::string& where, const char* data_field,
                                       const std::string& data, const std::string& file) {
  if (!data.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(data, &decoded)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", data_field, ": not valid base64"));
    }
    return decoded;
  }
  if (file.empty()) {
    return std::string();
  }
  auto text = common::readFile(file);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", text.status().message()));
  }
  return text;
}

absl::Status checkServer(const std::string& where, const std::string& server) {
  if (server.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".server: required"));
  }
  if (!absl::StartsWith(server, "https://") && !absl::StartsWith(server, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".server: \"", absl::CHexEscape(server),
                                                   "\" must start with https:// or http://"));
  }
  return absl::OkStatus();
}

absl::Status applyCluster(const RawCluster& cluster, ClusterConfig& out) {
  RETURN_IF_ERROR(checkServer(cluster.where, cluster.server));
  out.server = std::string(absl::StripSuffix(cluster.server, "/"));
  out.insecure_skip_tls_verify = cluster.insecure;
  ASSIGN_OR_RETURN(out.ca_pem, dataOrFile(cluster.where, "certificate-authority-data",
                                          cluster.ca_data, cluster.ca_file));
  return absl::OkStatus();
}

absl::Status applyUser(const RawUser& user, ClusterConfig& out) {
  if (!user.unsupported.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(user.where, ".", user.unsupported,
                     ": not supported by weft-operator; give the user a token, tokenFile or "
                     "client certificate"));
  }
  out.token = user.token;
  out.token_file = user.token_file;
  ASSIGN_OR_RETURN(out.client_cert_pem, dataOrFile(user.where, "client-certificate-data",
                                                   user.cert_data, user.cert_file));
  ASSIGN_OR_RETURN(out.client_key_pem,
                   dataOrFile(user.where, "client-key-data", user.key_data, user.key_file));
  if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        user.where, ": a client certificate needs its key, and a key its certificate"));
  }
  if (!out.token_file.empty()) {
    RETURN_IF_ERROR(common::readFile(out.token_file).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClusterConfig> inClusterConfig(const InClusterEnv& env) {
  if (env.service_host.empty() || env.service_port.empty()) {
    return absl::FailedPreconditionError(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
        "(not running in a pod? use --kubeconfig)");
  }
  RETURN_IF_ERROR(checkPort(env.service_port, "in-cluster config: KUBERNETES_SERVICE_PORT"));
  const fs::path dir(env.service_account_dir);
  ClusterConfig config;
  // An IPv6 address goes in brackets in a URL.
  const bool ipv6 = env.service_host.find(':') != std::string::npos;
  config.server = absl::StrCat("https://", ipv6 ? "[" : "", env.service_host, ipv6 ? "]" : "", ":",
                               env.service_port);
  config.token_file = (dir / "token").string();
  RETURN_IF_ERROR(readRequiredFile(config.token_file, "the service account token").status());
  ASSIGN_OR_RETURN(config.ca_pem,
                   readRequiredFile((dir / "ca.crt").string(), "the cluster CA certificate"));
  // The namespace file is optional: a pod always has it, a test setup may not.
  if (auto ns = common::readFile((dir / "namespace").string()); ns.ok()) {
    config.namespace_name = std::string(absl::StripAsciiWhitespace(*ns));
  }
  config.origin = absl::StrCat("in-cluster service account (", dir.string(), ")");
  return config;
}

absl::StatusOr<ClusterConfig> kubeconfigConfig(const std::vector<std::string>& paths,
                                               absl::string_view context_override) {
  Kubeconfig merged;
  for (const std::string& path : paths) {
    RETURN_IF_ERROR(mergeFile(path, merged));
  }
  const std::string files = absl::StrJoin(paths, ":");
  const std::string context_name =
      context_override.empty() ? merged.current_context : std::string(context_override);
  if (context_name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", files, ": current-context is not set"));
  }
  const auto context = merged.contexts.find(context_name);
  if (context == merged.contexts.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", files, ": context \"", context_name, "\" is not defined"));
  }
  const auto cluster = merged.clusters.find(context->second.cluster);
  if (cluster == merged.clusters.end()) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", files, ": context \"",
                                                   context_name, "\" names cluster \"",
                                                   context->second.cluster, "\", not defined"));
  }
  ClusterConfig config;
  RETURN_IF_ERROR(applyCluster(cluster->second, config));
  if (!context->second.user.empty()) {
    const auto user = merged.users.find(context->second.user);
    if (user == merged.users.end()) {
      return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", files, ": context \"",
                                                     context_name, "\" names user \"",
                                                     context->second.user, "\", not defined"));
    }
    RETURN_IF_ERROR(applyUser(user->second, config));
  }
  config.namespace_name = context->second.namespace_name;
  config.origin = absl::StrCat("kubeconfig ", files, " (context ", context_name, ")");
  return config;
}

DiscoveryInputs DiscoveryInputs::fromEnvironment(std::string kubeconfig_flag) {
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  DiscoveryInputs inputs;
  inputs.kubeconfig_flag = std::move(kubeconfig_flag);
  inputs.kubeconfig_env = env("KUBECONFIG");
  inputs.in_cluster.service_host = env("KUBERNETES_SERVICE_HOST");
  inputs.in_cluster.service_port = env("KUBERNETES_SERVICE_PORT");
  inputs.home = env("HOME");
  return inputs;
}

absl::StatusOr<ClusterConfig> discoverClusterConfig(const DiscoveryInputs& inputs) {
  if (!inputs.kubeconfig_flag.empty()) {
    return kubeconfigConfig({inputs.kubeconfig_flag});
  }
  if (!inputs.kubeconfig_env.empty()) {
    // As kubectl does, files of $KUBECONFIG that do not exist are skipped.
    std::vector<std::string> paths;
    for (absl::string_view path : absl::StrSplit(inputs.kubeconfig_env, ':', absl::SkipEmpty())) {
      std::error_code ec;
      if (fs::exists(fs::path(std::string(path)), ec)) {
        paths.emplace_back(path);
      }
    }
    if (paths.empty()) {
      return absl::NotFoundError(
          absl::StrCat("$KUBECONFIG: no file of \"", inputs.kubeconfig_env, "\" exists"));
    }
    return kubeconfigConfig(paths);
  }
  if (!inputs.in_cluster.service_host.empty()) {
    return inClusterConfig(inputs.in_cluster);
  }
  const std::string home_config =
      inputs.home.empty() ? "" : (fs::path(inputs.home) / ".kube" / "config").string();
  std::error_code ec;
  if (!home_config.empty() && fs::exists(home_config, ec)) {
    return kubeconfigConfig({home_config});
  }
  return absl::FailedPreconditionError(
      "no Kubernetes API to talk to: not in a pod (KUBERNETES_SERVICE_HOST is not set), and "
      "no --kubeconfig, $KUBECONFIG or ~/.kube/config");
}

}  // namespace weft::op::kube
