// weft-agent: the per-node agent. Loads (or adopts) the eBPF capture, serves the outbound
// listener with one worker per core, and runs a control thread for config reload, pod
// enrolment, kernel telemetry and the admin server.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/admin/admin_routes.h"
#include "agent/capture/capture.h"
#include "agent/config/config_reloader.h"
#include "agent/config/config_store.h"
#include "agent/config/config_stream_client.h"
#include "agent/control/capture_data_plane.h"
#include "agent/control/control_loop.h"
#include "agent/proxy/outbound_proxy.h"
#include "agent/telemetry/metrics.h"
#include "common/http/server.h"
#include "common/identity/pem.h"
#include "common/net/address.h"
#include "common/util/file.h"
#include "common/util/flag_names.h"
#include "common/util/log_level.h"
#include "common/util/status_macros.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, node, "", "Name of this node; the config's node_name must match.");
ABSL_FLAG(std::string, config, "",
          "NodeConfig JSON file, reloaded when it changes: the debugging mode, instead of "
          "--operator.");
ABSL_FLAG(std::string, operator, "",
          "The operator's config stream, host:port (e.g. weft-operator.weft-system:15012).");
ABSL_FLAG(std::string, operator_ca, "",
          "With --operator: PEM trust bundle the operator's certificate must chain to.");
ABSL_FLAG(std::string, node_token_file, "",
          "With --operator: file holding this node's token for the operator.");
ABSL_FLAG(std::string, bpffs_root, "", "bpffs directory for this agent's pins.");
ABSL_FLAG(std::string, cgroup_root, "",
          "cgroup v2 directory holding the node's pods (the kubepods directory).");
ABSL_FLAG(std::string, capture_ipv4, "", "Address enrolled pods dial to reach this agent.");
ABSL_FLAG(std::string, capture_ipv6, "", "IPv6 address pods dial to reach this agent.");
ABSL_FLAG(uint16_t, outbound_port, 15001, "Outbound capture listener port.");
ABSL_FLAG(std::string, admin_address, "0.0.0.0", "Admin server address.");
ABSL_FLAG(uint16_t, admin_port, 15020, "Admin server port (/metrics, /ready, ...).");
ABSL_FLAG(int, workers, 0, "Worker threads (0: one per core).");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off.");
ABSL_FLAG(bool, same_node_fast_path, true,
          "Let the kernel move the bytes of connections between pods of this node (sockhash + "
          "sk_msg) instead of the agent's buffers; --same-node-fast-path=false turns it off.");
ABSL_FLAG(bool, uninstall, false, "Detach the programs and remove the pins under --bpffs-root.");

namespace weft::agent {
namespace {

constexpr char kUsage[] =
    "weft-agent --node=<name> (--operator=<host:port> --operator-ca=<pem> "
    "--node-token-file=<file> | --config=<file>) --bpffs-root=<dir> --cgroup-root=<dir> "
    "--capture-ipv4=<ip> [--capture-ipv6=<ip>] [--outbound-port=15001] "
    "[--admin-address=0.0.0.0] [--admin-port=15020] [--workers=N] [--log-level=info] "
    "[--same-node-fast-path=true]\n"
    "  weft-agent --uninstall --bpffs-root=<dir>\n"
    "(flag names may be written with - or _)";

// Per direction, per connection: HAProxy's default bufsize, enough to keep a fast link busy
// without making 10k idle connections expensive.
constexpr size_t kRelayBufferBytes = 16 * 1024;

int die(absl::string_view message) {
  std::fprintf(stderr, "weft-agent: %s\n", std::string(message).c_str());
  return 1;
}

absl::Status requireFlag(absl::string_view name, const std::string& value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return absl::OkStatus();
}

absl::StatusOr<common::IpAddress> ipFlag(absl::string_view name, const std::string& value) {
  auto ip = common::IpAddress::Parse(value);
  if (!ip.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", ip.status().message()));
  }
  return *ip;
}

// Where the config comes from: the operator's stream, or a file (debugging).
struct ConfigFlags {
  std::string file;
  std::string operator_address;
  std::string operator_ca_pem;
  std::string token;
};

absl::Status prefixed(absl::string_view flag, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("--", flag, ": ", status.message()));
}

absl::StatusOr<ConfigFlags> readConfigFlags() {
  ConfigFlags f{.file = absl::GetFlag(FLAGS_config),
                .operator_address = absl::GetFlag(FLAGS_operator)};
  const std::string ca_path = absl::GetFlag(FLAGS_operator_ca);
  const std::string token_path = absl::GetFlag(FLAGS_node_token_file);
  if (f.file.empty() == f.operator_address.empty()) {
    return absl::InvalidArgumentError(
        "give exactly one of --operator (the config stream) and --config (a file, for "
        "debugging)");
  }
  if (!f.file.empty()) {
    if (!ca_path.empty() || !token_path.empty()) {
      return absl::InvalidArgumentError(
          "--operator-ca and --node-token-file go with --operator, not with --config");
    }
    return f;
  }
  if (auto target = common::HostPort::Parse(f.operator_address); !target.ok()) {
    return prefixed("operator", target.status());
  }
  RETURN_IF_ERROR(requireFlag("operator-ca", ca_path));
  RETURN_IF_ERROR(requireFlag("node-token-file", token_path));
  absl::StatusOr<std::string> ca_pem = common::readFile(ca_path);
  if (!ca_pem.ok()) {
    return prefixed("operator-ca", ca_pem.status());
  }
  // Checked now: gRPC would only fail each connection attempt with a vague TLS error.
  if (auto bundle = common::identity::chainFromPem(*ca_pem); !bundle.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--operator-ca: ", ca_path, ": ", bundle.status().message()));
  }
  f.operator_ca_pem = *std::move(ca_pem);
  absl::StatusOr<std::string> token = common::readFile(token_path);
  if (!token.ok()) {
    return prefixed("node-token-file", token.status());
  }
  f.token = std::string(absl::StripAsciiWhitespace(*token));
  if (f.token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node-token-file: ", token_path, ": the file is empty"));
  }
  if (f.token.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--node-token-file: ", token_path, ": holds more than the token (one word, one line)"));
  }
  return f;
}

admin::ConfigSource configSource(const ConfigFlags& flags) {
  return flags.file.empty()
             ? admin::ConfigSource{.kind = "operator", .location = flags.operator_address}
             : admin::ConfigSource{.kind = "file", .location = flags.file};
}

struct Flags {
  std::string node, bpffs_root, cgroup_root;
  ConfigFlags config;
  common::IpAddress capture_ipv4;
  std::optional<common::IpAddress> capture_ipv6;
  common::SocketAddress admin;
  int workers = 1;
};

absl::StatusOr<Flags> readFlags() {
  Flags f;
  f.node = absl::GetFlag(FLAGS_node);
  f.bpffs_root = absl::GetFlag(FLAGS_bpffs_root);
  f.cgroup_root = absl::GetFlag(FLAGS_cgroup_root);
  for (const auto& [name, value] : {std::pair{"node", f.node},
                                    {"bpffs-root", f.bpffs_root},
                                    {"cgroup-root", f.cgroup_root},
                                    {"capture-ipv4", absl::GetFlag(FLAGS_capture_ipv4)}}) {
    RETURN_IF_ERROR(requireFlag(name, value));
  }
  ASSIGN_OR_RETURN(f.config, readConfigFlags());
  ASSIGN_OR_RETURN(f.capture_ipv4, ipFlag("capture-ipv4", absl::GetFlag(FLAGS_capture_ipv4)));
  if (!f.capture_ipv4.isV4()) {
    return absl::InvalidArgumentError("--capture-ipv4: not an IPv4 address");
  }
  if (const std::string v6 = absl::GetFlag(FLAGS_capture_ipv6); !v6.empty()) {
    ASSIGN_OR_RETURN(f.capture_ipv6, ipFlag("capture-ipv6", v6));
  }
  ASSIGN_OR_RETURN(f.admin.ip, ipFlag("admin-address", absl::GetFlag(FLAGS_admin_address)));
  f.admin.port = absl::GetFlag(FLAGS_admin_port);
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 0) {
    return absl::InvalidArgumentError("--workers: must be 0 (one per core) or more");
  }
  f.workers = workers > 0 ? workers : std::max(1u, std::thread::hardware_concurrency());
  return f;
}

int run(const Flags& flags) {
  config::ConfigStore store;
  std::optional<config::ConfigReloader> reloader;
  if (!flags.config.file.empty()) {
    // The file mode needs its config before it starts; the stream's comes when it comes.
    reloader.emplace(flags.config.file, flags.node, store);
    if (auto status = reloader->loadInitial(); !status.ok()) {
      return die(status.message());
    }
  }
  if (::geteuid() != 0) {
    return die("must run as root (loading BPF programs needs CAP_BPF and CAP_NET_ADMIN)");
  }
  capture::CaptureOptions capture_options{
      .bpffs_root = flags.bpffs_root,
      .cgroup_root = flags.cgroup_root,
      .agent_ipv4 = flags.capture_ipv4,
      .agent_ipv6 = flags.capture_ipv6.value_or(common::IpAddress()),
      .outbound_port = absl::GetFlag(FLAGS_outbound_port),
  };
  auto capture = capture::Capture::open(capture_options);
  if (!capture.ok()) {
    return die(capture.status().message());
  }
  spdlog::info("capture {} under {} (cgroup root {})",
               (*capture)->adopted() ? "adopted from pins" : "loaded", flags.bpffs_root,
               flags.cgroup_root);

  telemetry::Metrics metrics;
  proxy::ProxyOptions proxy_options;
  proxy_options.workers = flags.workers;
  proxy_options.fast_path.buffer_size = kRelayBufferBytes;
  proxy_options.listen.push_back({flags.capture_ipv4, capture_options.outbound_port});
  if (flags.capture_ipv6) {
    proxy_options.listen.push_back({*flags.capture_ipv6, capture_options.outbound_port});
  }
  proxy::OutboundProxy outbound(
      proxy::ProxyDependencies{
          .config = store,
          .destinations = **capture,
          .metrics = metrics,
          .make_relay =
              [&metrics] {
                return std::make_unique<proxy::BufferedRelay>(kRelayBufferBytes, &metrics);
              },
          .make_random = [] { return std::make_unique<proxy::DefaultRandom>(); },
          .fast_path = absl::GetFlag(FLAGS_same_node_fast_path) ? &(*capture)->fastPath() : nullptr,
      },
      proxy_options);
  if (auto status = outbound.start(); !status.ok()) {
    return die(status.message());
  }

  asio::io_context io(1);
  control::CaptureDataPlane data_plane(**capture);
  control::KubeletCgroupResolver resolver(flags.cgroup_root);
  control::ControlLoop control(
      io, reloader ? &*reloader : nullptr, store, metrics, data_plane, resolver,
      control::ControlOptions{.same_node_fast_path = absl::GetFlag(FLAGS_same_node_fast_path)});
  common::http::Server admin_server(io);
  admin::addAdminRoutes(admin_server, admin::AdminSources{
                                          .config = store,
                                          .metrics = metrics,
                                          .ready = [&control] { return control.ready(); },
                                          .source = configSource(flags.config),
                                      });
  if (auto bound = admin_server.listen(flags.admin); !bound.ok()) {
    return die(bound.status().message());
  }
  control.start();
  std::optional<config::ConfigStreamClient> stream;
  if (!flags.config.operator_address.empty()) {
    stream.emplace(
        config::StreamClientOptions{
            .target = flags.config.operator_address,
            .node_name = flags.node,
            .token = flags.config.token,
            .credentials = config::operatorTlsCredentials(flags.config.operator_ca_pem),
        },
        store, metrics,
        [&io, &control] { asio::post(io, [&control] { control.configChanged(); }); });
    stream->start();
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const asio::error_code& ec, int signal) {
    if (!ec) {
      spdlog::info("signal {}: stopping (pinned programs keep capturing)", signal);
      io.stop();
    }
  });
  spdlog::info(
      "weft-agent on node {}: outbound {} ({} workers, same-node fast path {}), admin {}, "
      "config from {}",
      flags.node, outbound.listenAddresses().front().toString(), flags.workers,
      absl::GetFlag(FLAGS_same_node_fast_path) ? "on" : "off", flags.admin.toString(),
      stream ? absl::StrCat("the operator at ", flags.config.operator_address)
             : absl::StrCat(flags.config.file, " (version \"", store.current()->version(), "\")"));
  io.run();
  if (stream) {
    stream->stop();
  }
  outbound.stop();
  return 0;
}

}  // namespace
}  // namespace weft::agent

int main(int argc, char** argv) {
  using weft::agent::die;
  ::signal(SIGPIPE, SIG_IGN);
  absl::SetProgramUsageMessage(weft::agent::kUsage);
  // absl's --help lists the flags of a file named after the program; ours live in main.cc.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "agent/main.cc");
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
  if (absl::GetFlag(FLAGS_uninstall)) {
    const std::string root = absl::GetFlag(FLAGS_bpffs_root);
    if (root.empty()) {
      return die("--uninstall needs --bpffs-root");
    }
    if (auto status = weft::agent::capture::Capture::uninstall(root); !status.ok()) {
      return die(status.message());
    }
    spdlog::info("removed weft programs and pins under {}", root);
    return 0;
  }
  auto flags = weft::agent::readFlags();
  if (!flags.ok()) {
    return die(flags.status().message());
  }
  return weft::agent::run(*flags);
}
