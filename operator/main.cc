// weft-operator: turns cluster objects into one NodeConfig per node. Objects come from the
// Kubernetes API (list + watch) or from a watched directory of YAML (the lab's and the
// demo's standalone mode); each node's config is written as <node-config-dir>/<node>.json,
// the file each agent reads with --config and reloads when it changes. The gRPC config
// stream (15012) comes next.

#include <signal.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
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
#include "common/util/flag_names.h"
#include "common/util/log_level.h"
#include "common/util/status_macros.h"
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
          "Directory to write each node's config to, as <node>.json (created if missing).");
ABSL_FLAG(bool, once, false, "Write the configs once and exit instead of watching.");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off.");

namespace weft::op {
namespace {

constexpr char kUsage[] =
    "weft-operator --source=directory --dir=<yaml dir> --node-config-dir=<out dir> "
    "[--once] [--log-level=info]\n"
    "weft-operator --source=kubernetes [--kubeconfig=<file>] --node-config-dir=<out dir> "
    "[--once] [--log-level=info]\n"
    "(flag names may be written with - or _)";

int die(absl::string_view message) {
  std::fprintf(stderr, "weft-operator: %s\n", std::string(message).c_str());
  return 1;
}

struct Flags {
  std::string source;
  std::string dir;
  std::string kubeconfig;
  std::string node_config_dir;
  bool once = false;
};

absl::StatusOr<Flags> readFlags() {
  Flags f{absl::GetFlag(FLAGS_source), absl::GetFlag(FLAGS_dir), absl::GetFlag(FLAGS_kubeconfig),
          absl::GetFlag(FLAGS_node_config_dir), absl::GetFlag(FLAGS_once)};
  if (f.source != "directory" && f.source != "kubernetes") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--source: \"", f.source, "\" is not supported (\"directory\" or \"kubernetes\")"));
  }
  if (f.source == "directory" && f.dir.empty()) {
    return absl::InvalidArgumentError("--dir is required with --source=directory");
  }
  if (f.source == "kubernetes" && !f.dir.empty()) {
    return absl::InvalidArgumentError("--dir is for --source=directory only");
  }
  if (f.source == "directory" && !f.kubeconfig.empty()) {
    return absl::InvalidArgumentError("--kubeconfig is for --source=kubernetes only");
  }
  if (f.node_config_dir.empty()) {
    return absl::InvalidArgumentError("--node-config-dir is required");
  }
  std::error_code ec;
  std::filesystem::create_directories(f.node_config_dir, ec);
  if (ec || !std::filesystem::is_directory(f.node_config_dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node-config-dir: cannot create ", f.node_config_dir,
                     ec ? absl::StrCat(": ", ec.message()) : ": not a directory"));
  }
  return f;
}

// Translates each new snapshot and writes the configs that changed; runs on the main thread.
class Publisher {
 public:
  explicit Publisher(const std::string& dir) : writer_(dir) {}

  absl::Status publish(const SourceSnapshot& snapshot) {
    const Translation translation = translate(snapshot);
    for (const std::string& warning : translation.warnings) {
      spdlog::warn("{}", warning);
    }
    ASSIGN_OR_RETURN(const NodeConfigWriter::Written written, writer_.write(translation.configs));
    for (const std::string& node : written.changed) {
      const auto it = translation.configs.find(node);
      const bool gone = it == translation.configs.end();
      spdlog::info("wrote {} ({})", writer_.pathOf(node),
                   gone ? "empty: no pods on this node any more"
                        : absl::StrCat("version ", it->second.version(),
                                       ", workloads: ", it->second.workloads_size(),
                                       ", services: ", it->second.services_size()));
    }
    spdlog::debug("{} objects → {} node configs, {} unchanged", snapshot.objectCount(),
                  translation.configs.size(), written.unchanged);
    return absl::OkStatus();
  }

 private:
  NodeConfigWriter writer_;
};

// Logs each problem of a source on its own line, and the recovery once.
class StatusLogger {
 public:
  explicit StatusLogger(std::string recovered) : recovered_(std::move(recovered)) {}

  void log(const absl::Status& status) {
    if (!status.ok()) {
      for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
        spdlog::error("{}", std::string(line));
      }
    } else if (!healthy_) {
      spdlog::info("{}", recovered_);
    }
    healthy_ = status.ok();
  }

 private:
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
  spdlog::info("weft-operator: reading the cluster at {} ({}), writing node configs to {}",
               cluster.server, cluster.origin, flags.node_config_dir);
  ASSIGN_OR_RETURN(std::unique_ptr<kube::CurlApiClient> client,
                   kube::CurlApiClient::create(std::move(cluster)));
  return std::make_unique<KubernetesSource>(std::move(client), KubernetesSource::Options(),
                                            std::move(on_snapshot), std::move(on_status));
}

int run(const Flags& flags) {
  asio::io_context io(1);
  Publisher publisher(flags.node_config_dir);
  StatusLogger status_logger(flags.source == "directory" ? "the source directory is valid again"
                                                         : "the Kubernetes API answers again");
  int exit_code = 0;
  auto source = makeSource(
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
  absl::Status started = source.ok() ? (*source)->start() : source.status();
  if (!started.ok()) {
    // A directory with several problems gets one line each.
    for (absl::string_view line : absl::StrSplit(started.message(), '\n')) {
      die(line);
    }
    return 1;
  }
  if (flags.source == "directory" && !flags.once) {
    spdlog::info("weft-operator: watching {}, writing node configs to {}", flags.dir,
                 flags.node_config_dir);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const asio::error_code& ec, int signal) {
    if (!ec) {
      spdlog::info("signal {}: stopping (the config files stay for the agents)", signal);
      io.stop();
    }
  });
  io.run();
  (*source)->stop();
  return exit_code;
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
