// weft-operator: turns cluster objects into one NodeConfig per node. Objects come from the
// Kubernetes API (list + watch) or from a watched directory of YAML (the lab's and the demo's
// standalone mode); each node's config is streamed to its agent over gRPC (15012, TLS, node
// tokens) and can also be written as <node-config-dir>/<node>.json (the agents' --config
// debugging mode). Metrics and health on 15014.

#include <signal.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/http/server.h"
#include "common/net/address.h"
#include "common/util/flag_names.h"
#include "common/util/log_level.h"
#include "common/util/status_macros.h"
#include "operator/admin/admin_routes.h"
#include "operator/admin/operator_metrics.h"
#include "operator/distribute/config_distributor.h"
#include "operator/distribute/config_server.h"
#include "operator/distribute/node_tokens.h"
#include "common/identity/spiffe_id.h"
#include "operator/identity/ca_directory.h"
#include "operator/identity/certificate_service.h"
#include "operator/identity/certificate_signer.h"
#include "operator/kube/cluster_config.h"
#include "operator/kube/curl_api_client.h"
#include "operator/output/node_config_files.h"
#include "operator/source/directory_source.h"
#include "operator/source/kubernetes_source.h"
#include "operator/translate/translate.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, source, "directory",
          "Where cluster objects come from: \"directory\" (a directory of YAML files, "
          "watched) or \"kubernetes\" (the API server, listed and watched).");
ABSL_FLAG(std::string, dir, "", "With --source=directory: the directory of YAML files.");
ABSL_FLAG(std::string, kubeconfig, "",
          "With --source=kubernetes: a kubeconfig file. Default: $KUBECONFIG, else the pod's "
          "service account (in-cluster), else ~/.kube/config.");
ABSL_FLAG(std::string, node_config_dir, "",
          "Also write each node's config to this directory, as <node>.json (created if "
          "missing): the files agents read with --config.");
ABSL_FLAG(bool, once, false,
          "Write the configs to --node-config-dir once and exit instead of watching.");
ABSL_FLAG(std::string, grpc_address, "0.0.0.0:15012",
          "IP:port the config stream and certificate signing (gRPC over TLS) listen on; "
          "[::]:15012 for IPv6.");
ABSL_FLAG(std::string, node_tokens, "",
          "File of \"<node> <token>\" lines: the tokens agents prove their node with. Turns "
          "on the config stream; without it the operator only writes --node-config-dir.");
ABSL_FLAG(std::string, ca_dir, "",
          "With --node-tokens: directory of the operator's CA (ca.pem, ca-key.pem; a new CA is "
          "created on first start) and root.pem, the trust bundle agents take with "
          "--operator-ca.");
ABSL_FLAG(std::string, trust_domain, "cluster.local",
          "SPIFFE trust domain of the mesh: workload identities are "
          "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, and a CA the operator "
          "creates in --ca-dir is for it.");
ABSL_FLAG(absl::Duration, workload_cert_ttl, absl::Hours(24),
          "Lifetime of the workload certificates (SVIDs) the operator signs, e.g. 24h or 90m; "
          "agents renew them at half of it. Never past the CA's own expiry.");
ABSL_FLAG(std::string, admin_address, "0.0.0.0:15014",
          "IP:port of /metrics, /healthz, /ready and /debug/agents.");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off.");

namespace weft::op {
namespace {

constexpr char kUsage[] =
    "weft-operator --source=directory --dir=<yaml dir> --node-tokens=<file> --ca-dir=<dir> "
    "[--grpc-address=0.0.0.0:15012] [--admin-address=0.0.0.0:15014] "
    "[--trust-domain=cluster.local] [--workload-cert-ttl=24h] [--node-config-dir=<out dir>] "
    "[--log-level=info]\n"
    "  weft-operator --source=kubernetes [--kubeconfig=<file>] --node-tokens=<file> "
    "--ca-dir=<dir> [...the same flags]\n"
    "  weft-operator --source=directory --dir=<yaml dir> --node-config-dir=<out dir> "
    "[--admin-address=0.0.0.0:15014]\n"
    "  weft-operator --source=directory|kubernetes ... --node-config-dir=<out dir> --once\n"
    "(flag names may be written with - or _)";

int die(absl::string_view message) {
  std::fprintf(stderr, "weft-operator: %s\n", std::string(message).c_str());
  return 1;
}

struct Flags {
  std::string source;  // "directory" or "kubernetes"
  std::string dir;
  std::string kubeconfig;
  std::string node_config_dir;  // empty: no files
  bool once = false;
  bool stream = false;  // serve the config stream (--node-tokens given)
  common::SocketAddress grpc = {};
  common::SocketAddress admin = {};
  std::string node_tokens;
  std::string ca_dir;
  std::string trust_domain;
  absl::Duration workload_cert_ttl;
};

absl::Status makeDirectory(absl::string_view flag, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot create ", dir,
                     ec ? absl::StrCat(": ", ec.message()) : ": not a directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<common::SocketAddress> addressFlag(absl::string_view flag,
                                                  const std::string& value) {
  auto address = common::SocketAddress::Parse(value);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", address.status().message()));
  }
  return *address;
}

absl::Status prefixed(absl::string_view flag, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("--", flag, ": ", status.message()));
}

absl::StatusOr<Flags> readFlags() {
  Flags f{
      .source = absl::GetFlag(FLAGS_source),
      .dir = absl::GetFlag(FLAGS_dir),
      .kubeconfig = absl::GetFlag(FLAGS_kubeconfig),
      .node_config_dir = absl::GetFlag(FLAGS_node_config_dir),
      .once = absl::GetFlag(FLAGS_once),
      .node_tokens = absl::GetFlag(FLAGS_node_tokens),
      .ca_dir = absl::GetFlag(FLAGS_ca_dir),
      .trust_domain = absl::GetFlag(FLAGS_trust_domain),
      .workload_cert_ttl = absl::GetFlag(FLAGS_workload_cert_ttl),
  };
  if (f.source != "directory" && f.source != "kubernetes") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--source: \"", f.source, "\" is not supported (\"directory\" or \"kubernetes\")"));
  }
  if (f.source == "directory" && f.dir.empty()) {
    return absl::InvalidArgumentError("--dir is required with --source=directory");
  }
  if (auto valid = common::identity::validateTrustDomain(f.trust_domain); !valid.ok()) {
    return prefixed("trust-domain", valid);
  }
  if (f.source == "kubernetes" && !f.dir.empty()) {
    return absl::InvalidArgumentError("--dir is for --source=directory only");
  }
  if (f.source == "directory" && !f.kubeconfig.empty()) {
    return absl::InvalidArgumentError("--kubeconfig is for --source=kubernetes only");
  }
  if (f.node_config_dir.empty() && (f.once || f.node_tokens.empty())) {
    return absl::InvalidArgumentError(
        f.once ? "--node-config-dir is required with --once"
               : "--node-tokens (the config stream) or --node-config-dir (files) is required");
  }
  if (!f.node_config_dir.empty()) {
    RETURN_IF_ERROR(makeDirectory("node-config-dir", f.node_config_dir));
  }
  f.stream = !f.once && !f.node_tokens.empty();
  if (f.stream && f.ca_dir.empty()) {
    return absl::InvalidArgumentError(
        "--ca-dir is required with --node-tokens (the config stream's TLS certificate is "
        "issued from that CA)");
  }
  if (f.workload_cert_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--workload-cert-ttl: must be positive, got ",
                                                   absl::FormatDuration(f.workload_cert_ttl)));
  }
  ASSIGN_OR_RETURN(f.grpc, addressFlag("grpc-address", absl::GetFlag(FLAGS_grpc_address)));
  ASSIGN_OR_RETURN(f.admin, addressFlag("admin-address", absl::GetFlag(FLAGS_admin_address)));
  return f;
}

// Translates each new snapshot, hands the configs to the stream and writes the files that
// changed; runs on the main thread.
class Publisher {
 public:
  Publisher(const std::string& dir, TranslationOptions options, ConfigDistributor& distributor,
            OperatorMetrics& metrics)
      : options_(std::move(options)), distributor_(distributor), metrics_(metrics) {
    if (!dir.empty()) {
      writer_.emplace(dir);
    }
  }

  absl::Status publish(const SourceSnapshot& snapshot) {
    const absl::Time started = absl::Now();
    const Translation translation = translate(snapshot, options_);
    metrics_.observeTranslation(absl::ToDoubleSeconds(absl::Now() - started));
    for (const std::string& warning : translation.warnings) {
      spdlog::warn("{}", warning);
    }
    distributor_.publish(translation.configs);
    spdlog::debug("{} objects → {} node configs", snapshot.objectCount(),
                  translation.configs.size());
    return writer_ ? writeFiles(translation) : absl::OkStatus();
  }

 private:
  absl::Status writeFiles(const Translation& translation) {
    ASSIGN_OR_RETURN(const NodeConfigWriter::Written written, writer_->write(translation.configs));
    for (const std::string& node : written.changed) {
      const auto it = translation.configs.find(node);
      const bool gone = it == translation.configs.end();
      spdlog::info("wrote {} ({})", writer_->pathOf(node),
                   gone ? "empty: no pods on this node any more"
                        : absl::StrCat("version ", it->second.version(),
                                       ", workloads: ", it->second.workloads_size(),
                                       ", services: ", it->second.services_size()));
    }
    return absl::OkStatus();
  }

  TranslationOptions options_;
  ConfigDistributor& distributor_;
  OperatorMetrics& metrics_;
  std::optional<NodeConfigWriter> writer_;
};

// Logs each problem of a source on its own line, and the recovery once.
class StatusLogger {
 public:
  StatusLogger(OperatorMetrics& metrics, std::string recovered)
      : metrics_(metrics), recovered_(std::move(recovered)) {}

  void log(const absl::Status& status) {
    if (!status.ok()) {
      metrics_.countSourceError();
      for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
        spdlog::error("{}", std::string(line));
      }
    } else if (!healthy_) {
      spdlog::info("{}", recovered_);
    }
    healthy_ = status.ok();
  }

 private:
  OperatorMetrics& metrics_;
  const std::string recovered_;
  bool healthy_ = true;
};

absl::StatusOr<std::unique_ptr<Source>> makeSource(const Flags& flags,
                                                   Source::SnapshotCallback on_snapshot,
                                                   Source::StatusCallback on_status) {
  if (flags.source == "directory") {
    return std::make_unique<DirectorySource>(DirectorySource::Options{.dir = flags.dir},
                                             std::move(on_snapshot), std::move(on_status));
  }
  ASSIGN_OR_RETURN(
      kube::ClusterConfig cluster,
      kube::discoverClusterConfig(kube::DiscoveryInputs::fromEnvironment(flags.kubeconfig)));
  spdlog::info("weft-operator: reading the cluster at {} ({})", cluster.server, cluster.origin);
  ASSIGN_OR_RETURN(std::unique_ptr<kube::CurlApiClient> client,
                   kube::CurlApiClient::create(std::move(cluster)));
  return std::make_unique<KubernetesSource>(std::move(client), KubernetesSource::Options(),
                                            std::move(on_snapshot), std::move(on_status));
}


// What the config stream needs before anything starts, so a bad token file or CA directory
// stops the operator at once: the tokens and the TLS credentials from the CA.
struct StreamSetup {
  NodeTokens tokens;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::optional<common::identity::CertificateAuthority> ca;  // signs workload certificates
};

absl::StatusOr<StreamSetup> prepareStream(const Flags& flags) {
  StreamSetup setup;
  absl::StatusOr<NodeTokens> tokens = NodeTokens::fromFile(flags.node_tokens);
  if (!tokens.ok()) {
    return prefixed("node-tokens", tokens.status());
  }
  if (tokens->size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node-tokens: ", flags.node_tokens, ": no tokens (no agent could connect)"));
  }
  setup.tokens = *std::move(tokens);
  absl::StatusOr<common::identity::CertificateAuthority> ca =
      loadOrCreateCa(flags.ca_dir, flags.trust_domain, absl::Now());
  if (!ca.ok()) {
    return prefixed("ca-dir", ca.status());
  }
  absl::StatusOr<ServingIdentity> identity = issueOperatorIdentity(*ca, absl::Now());
  if (!identity.ok()) {
    return prefixed("ca-dir", identity.status());
  }
  setup.credentials = serverTlsCredentials(identity->key_pem, identity->chain_pem);
  setup.ca = *std::move(ca);
  spdlog::info("config stream: {} node tokens; TLS from the CA in {} (agents trust {}/root.pem)",
               setup.tokens.size(), flags.ca_dir, flags.ca_dir);
  return setup;
}

int run(const Flags& flags) {
  asio::io_context io(1);
  OperatorMetrics metrics;
  ConfigDistributor distributor;
  Publisher publisher(flags.node_config_dir, TranslationOptions{.trust_domain = flags.trust_domain},
                      distributor, metrics);
  StatusLogger status_logger(metrics, flags.source == "directory"
                                          ? "the source directory is valid again"
                                          : "the Kubernetes API answers again");
  int exit_code = 0;
  std::optional<StreamSetup> stream_setup;
  if (flags.stream) {
    absl::StatusOr<StreamSetup> prepared = prepareStream(flags);
    if (!prepared.ok()) {
      return die(prepared.status().message());
    }
    stream_setup = *std::move(prepared);
  }
  absl::StatusOr<std::unique_ptr<Source>> made = makeSource(
      flags,
      [&](SourceSnapshotPtr snapshot) {
        asio::post(io, [&, snapshot] {
          if (absl::Status published = publisher.publish(*snapshot); !published.ok()) {
            spdlog::error("{}", std::string(published.message()));
            exit_code = flags.once ? 1 : exit_code;
          }
          if (flags.once) {
            io.stop();  // the first snapshot is written: done
          }
        });
      },
      [&](const absl::Status& status) {
        asio::post(io, [&, status] { status_logger.log(status); });
      });
  const absl::Status started = made.ok() ? (*made)->start() : made.status();
  if (!started.ok()) {
    // A directory with several problems gets one line each.
    for (absl::string_view line : absl::StrSplit(started.message(), '\n')) {
      die(line);
    }
    return 1;
  }
  Source& source = **made;
  if (flags.once) {
    // The directory source has posted its snapshot already; the Kubernetes source posts one
    // once every resource type is listed (until then, failures are logged and retried).
    const auto waiting = asio::make_work_guard(io);
    io.run();
    source.stop();
    return exit_code;
  }
  const NodeTokens no_tokens;
  // Before the server, which serves them until it stops.
  std::optional<CertificateSigner> signer;
  std::optional<CertificateService> certificates;
  ConfigServer stream_server(distributor, stream_setup ? stream_setup->tokens : no_tokens, metrics);
  common::http::Server admin_server(io);
  addOperatorAdminRoutes(
      admin_server,
      {.metrics = metrics, .distributor = distributor, .agents = stream_server.agents()});
  if (auto bound = admin_server.listen(flags.admin); !bound.ok()) {
    source.stop();
    return die(prefixed("admin-address", bound.status()).message());
  } else {
    spdlog::info("admin (/metrics, /healthz, /ready, /debug/agents) on {}", bound->toString());
  }
  if (stream_setup) {
    // Workload certificates, authorized by the pods the current snapshot puts on the node.
    signer.emplace(
        *stream_setup->ca,
        [&distributor](const std::string& node, const std::string& namespace_name,
                       const std::string& service_account) {
          return distributor.runsMeshPodOf(node, namespace_name, service_account);
        },
        flags.workload_cert_ttl);
    certificates.emplace(*signer, stream_setup->tokens, metrics);
    stream_server.addService(&*certificates);
    auto port = stream_server.start(flags.grpc, stream_setup->credentials);
    if (!port.ok()) {
      source.stop();
      return die(prefixed("grpc-address", port.status()).message());
    }
    spdlog::info("config stream and certificate signing (workload certificates valid {}) on {}",
                 absl::FormatDuration(flags.workload_cert_ttl),
                 common::SocketAddress{flags.grpc.ip, static_cast<uint16_t>(*port)}.toString());
  } else {
    spdlog::warn("no --node-tokens: no config stream, agents read the files in {}",
                 flags.node_config_dir);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const asio::error_code& ec, int signal) {
    if (!ec) {
      spdlog::info("signal {}: stopping (agents keep serving their last config)", signal);
      io.stop();
    }
  });
  if (flags.source == "directory") {
    spdlog::info("weft-operator: watching {}", flags.dir);
  }
  io.run();
  source.stop();
  stream_server.stop();
  return 0;
}

}  // namespace
}  // namespace weft::op

int main(int argc, char** argv) {
  using weft::op::die;
  absl::SetProgramUsageMessage(weft::op::kUsage);
  // absl's --help lists the flags of a file named after the program; ours live in main.cc.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "operator/main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  std::vector<std::string> args = weft::common::normalizeFlagNames(argc, argv);
  std::vector<char*> normalized = weft::common::argvOf(args);
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), normalized.data());
  if (positional.size() > 1) {
    return die(absl::StrCat("unexpected argument \"", positional[1], "\""));
  }
  if (auto status = weft::common::setLogLevel(absl::GetFlag(FLAGS_log_level)); !status.ok()) {
    return die(status.message());
  }
  auto flags = weft::op::readFlags();
  if (!flags.ok()) {
    return die(flags.status().message());
  }
  return weft::op::run(*flags);
}
