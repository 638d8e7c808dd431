#include "agent/capture/capture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/capture/abi.h"
#include "agent/capture/kernel_fast_path.h"
#include "agent/capture/libbpf_log.h"
#include "agent/capture/pinned_object.h"
#include "agent/capture/preflight.h"
#include "agent/capture/scoped_fd.h"
#include "common/util/fnv1a.h"
#include "common/util/status_macros.h"
#include "connect.skel.h"
#include "getpeername.skel.h"
#include "pod_ingress.skel.h"
#include "sk_msg.skel.h"
#include "sockops.skel.h"

namespace weft::agent::capture {
namespace {

std::string errnoText(int err) {
  return std::error_code(err < 0 ? -err : err, std::generic_category()).message();
}

template <typename Skel>
struct SkelDeleter {
  void operator()(Skel* s) const { Skel::destroy(s); }
};
template <typename Skel>
using SkelPtr = std::unique_ptr<Skel, SkelDeleter<Skel>>;

template <typename Skel>
absl::StatusOr<SkelPtr<Skel>> openSkeleton(const std::string& pin_root, const char* name) {
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = pin_root.c_str();
  LibbpfLog log;
  Skel* skel = Skel::open(&opts);
  if (skel == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("opening BPF object ", name, ": ", errnoText(errno), " ", log.summary()));
  }
  size_t size = 0;
  const void* elf = Skel::elf_bytes(&size);
  // Identifies the object bytes a pinned program was loaded from.
  skel->rodata->weft_object_id = common::fnv1a(elf, size);
  return SkelPtr<Skel>(skel);
}

absl::StatusOr<ScopedFd> linkCreate(bpf_program* prog, int target_fd, const std::string& what) {
  const int fd = bpf_link_create(bpf_program__fd(prog), target_fd,
                                 bpf_program__expected_attach_type(prog), nullptr);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("attaching ", bpf_program__name(prog), " to ", what, ": ", errnoText(errno)));
  }
  return ScopedFd(fd);
}

absl::StatusOr<uint64_t> pinnedMapId(const std::string& path) {
  ScopedFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) {
    return uint64_t{0};  // not created yet
  }
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
    return absl::UnavailableError(absl::StrCat("map info of ", path, ": ", errnoText(errno)));
  }
  return uint64_t{info.id};
}

absl::Status checkCaptureAddresses(const CaptureOptions& o) {
  const common::IpAddress none;
  if (o.agent_ipv4 == none && o.agent_ipv6 == none) {
    return absl::InvalidArgumentError("no capture address: set --capture-ipv4 (or --capture-ipv6)");
  }
  if (o.agent_ipv4 != none && !o.agent_ipv4.isV4()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--capture-ipv4=", o.agent_ipv4.toString(), " is not an IPv4 address"));
  }
  if (o.agent_ipv6 != none && o.agent_ipv6.isV4()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--capture-ipv6=", o.agent_ipv6.toString(), " is not an IPv6 address"));
  }
  if (o.outbound_port == 0) {
    return absl::InvalidArgumentError("--outbound-port must not be 0");
  }
  return absl::OkStatus();
}

ConnectionClosed toConnectionClosed(const weft_close_event& e) {
  ConnectionClosed c;
  c.cgroup_id = e.cgroup_id;
  c.original_dst = {fromWeftAddr(e.orig_ip), e.orig_port};
  c.bytes_sent = e.bytes_sent;
  c.bytes_received = e.bytes_received;
  c.srtt_us = e.srtt_us;
  c.retransmits = e.retransmits;
  c.duration_ns = e.duration_ns;
  return c;
}

// Deletes every key of `map_fd` that is not in `keep`.
absl::Status removeOtherKeys(int map_fd, const std::vector<std::string>& wanted, size_t key_size) {
  const absl::flat_hash_set<std::string> keep(wanted.begin(), wanted.end());
  std::vector<std::string> stale;
  std::string cur(key_size, '\0');
  std::string next(key_size, '\0');
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, next.data()) == 0) {
    if (!keep.contains(next)) {
      stale.push_back(next);
    }
    cur = next;
    prev = cur.data();
  }
  for (const std::string& key : stale) {
    bpf_map_delete_elem(map_fd, key.data());
  }
  return absl::OkStatus();
}

template <typename T>
std::string keyBytes(const T& key) {
  return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
}

// Makes `map_fd` hold exactly `entries`: writes them all first, then removes the rest, so an
// entry that stays is never missing, not even for a moment.
template <typename Key, typename Value>
absl::Status replaceEntries(int map_fd, const std::vector<std::pair<Key, Value>>& entries,
                            const char* what) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : entries) {
    if (bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) != 0) {
      return absl::ResourceExhaustedError(absl::StrCat("cannot store ", entries.size(), " ", what,
                                                       " in the kernel: ", errnoText(errno)));
    }
    keys.push_back(keyBytes(key));
  }
  return removeOtherKeys(map_fd, keys, sizeof(Key));
}

}  // namespace

class Capture::Impl {
 public:
  ~Impl() {
    if (events_ != nullptr) {
      ring_buffer__free(events_);  // before the skeletons close the map it maps
    }
  }

  absl::Status open(const CaptureOptions& options) {
    options_ = options;
    RETURN_IF_ERROR(checkRoot());
    RETURN_IF_ERROR(checkCaptureAddresses(options));
    RETURN_IF_ERROR(checkBpffs(options.bpffs_root));
    RETURN_IF_ERROR(checkKernelBtf());
    ASSIGN_OR_RETURN(cgroup_id_, checkCgroupRoot(options.cgroup_root));
    cgroup_.reset(::open(options.cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup_.valid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open --cgroup-root ", options.cgroup_root, ": ", errnoText(errno)));
    }
    links_dir_ = absl::StrCat(options.bpffs_root, "/", WEFT_LINKS_DIR);
    std::error_code ec;
    const bool fresh = !std::filesystem::exists(options.bpffs_root, ec);
    std::filesystem::create_directories(links_dir_, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", links_dir_, ": ", ec.message()));
    }
    absl::Status loaded = loadObjects();
    if (loaded.ok()) {
      loaded = startTelemetry();
    }
    if (!loaded.ok() && fresh) {
      // A first install that failed halfway must not leave programs attached. (Over an
      // earlier install the old pins stay: they keep capturing.)
      releaseObjects();
      (void)Capture::uninstall(options.bpffs_root);
    }
    return loaded;
  }

  void releaseObjects() {
    if (events_ != nullptr) {
      ring_buffer__free(events_);
      events_ = nullptr;
    }
    fast_path_.reset();
    links_.clear();
    pod_ingress_.reset();
    sk_msg_.reset();
    sockops_.reset();
    getpeername_.reset();
    connect_.reset();
  }

  absl::Status loadObjects() {
    const std::string& root = options_.bpffs_root;
    ASSIGN_OR_RETURN(connect_, openSkeleton<weft_connect>(root, "connect"));
    ASSIGN_OR_RETURN(getpeername_, openSkeleton<weft_getpeername>(root, "getpeername"));
    ASSIGN_OR_RETURN(sockops_, openSkeleton<weft_sockops>(root, "sockops"));
    ASSIGN_OR_RETURN(sk_msg_, openSkeleton<weft_sk_msg>(root, "sk_msg"));
    ASSIGN_OR_RETURN(pod_ingress_, openSkeleton<weft_pod_ingress>(root, "pod_ingress"));
    setTunables(connect_->rodata);
    setTunables(pod_ingress_->rodata);

    const LinkTarget cgroup{LinkTarget::Kind::kCgroup, cgroup_id_,
                            absl::StrCat("cgroup ", options_.cgroup_root)};
    auto attach_cgroup = [this](bpf_program* prog) {
      return linkCreate(prog, cgroup_.get(), absl::StrCat("cgroup ", options_.cgroup_root));
    };
    RETURN_IF_ERROR(load({"connect", connect_->obj, connect_->maps.rodata, cgroup, attach_cgroup}));
    RETURN_IF_ERROR(
        load({"getpeername", getpeername_->obj, getpeername_->maps.rodata, cgroup, attach_cgroup}));
    RETURN_IF_ERROR(load({"sockops", sockops_->obj, sockops_->maps.rodata, cgroup, attach_cgroup}));
    RETURN_IF_ERROR(
        load({"pod_ingress", pod_ingress_->obj, pod_ingress_->maps.rodata, cgroup, attach_cgroup}));

    // sk_msg attaches to the (pinned, by now existing) fast-path sockhash.
    const std::string sockhash_pin = absl::StrCat(root, "/", WEFT_MAP_MSG_SOCKS);
    ASSIGN_OR_RETURN(uint64_t sockhash_id, pinnedMapId(sockhash_pin));
    const LinkTarget sockhash{LinkTarget::Kind::kMap, sockhash_id,
                              absl::StrCat("map ", sockhash_pin)};
    auto attach_sockhash = [this](bpf_program* prog) {
      return linkCreate(prog, bpf_map__fd(sk_msg_->maps.weft_msg_sk), "the fast-path sockhash");
    };
    RETURN_IF_ERROR(
        load({"sk_msg", sk_msg_->obj, sk_msg_->maps.rodata, sockhash, attach_sockhash}));

    fast_path_ = std::make_unique<KernelFastPath>(FastPathMaps{
        .sockets = bpf_map__fd(sk_msg_->maps.weft_msg_sk),
        .flows = bpf_map__fd(sk_msg_->maps.weft_msg_flows),
        .pairs = bpf_map__fd(sk_msg_->maps.weft_msg_pairs),
        .expect = bpf_map__fd(sk_msg_->maps.weft_msg_expect),
    });
    return absl::OkStatus();
  }

  // Both objects that read bpf/lib/tunables.h get the same values.
  template <typename Rodata>
  void setTunables(Rodata* rodata) {
    const common::IpAddress none;
    rodata->capture_ipv4_enabled = options_.agent_ipv4 != none;
    rodata->capture_ipv4 = options_.agent_ipv4.v4NetworkOrder();
    rodata->capture_ipv6_enabled = options_.agent_ipv6 != none;
    std::memcpy(rodata->capture_ipv6, options_.agent_ipv6.bytes().data(), 16);
    rodata->outbound_port = options_.outbound_port;
  }

  absl::Status load(const ObjectSpec& spec) {
    ASSIGN_OR_RETURN(LoadedObject loaded, loadOrAdopt(spec, links_dir_));
    adopted_ = adopted_ && loaded.adopted;
    for (ScopedFd& link : loaded.links) {
      links_.push_back(std::move(link));
    }
    return absl::OkStatus();
  }

  absl::Status startTelemetry() {
    events_ =
        ring_buffer__new(bpf_map__fd(connect_->maps.weft_events), &Impl::onEvent, this, nullptr);
    if (events_ == nullptr) {
      return absl::InternalError(absl::StrCat("telemetry ring buffer: ", errnoText(errno)));
    }
    return absl::OkStatus();
  }

  static int onEvent(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(weft_close_event) || self->on_close_ == nullptr) {
      return 0;
    }
    weft_close_event e;
    std::memcpy(&e, data, sizeof(e));
    (*self->on_close_)(toConnectionClosed(e));
    return 0;
  }

  int mapFd(bpf_map* map) const { return bpf_map__fd(map); }

  CaptureOptions options_;
  uint64_t cgroup_id_ = 0;
  ScopedFd cgroup_;
  std::string links_dir_;
  SkelPtr<weft_connect> connect_;
  SkelPtr<weft_getpeername> getpeername_;
  SkelPtr<weft_sockops> sockops_;
  SkelPtr<weft_sk_msg> sk_msg_;
  SkelPtr<weft_pod_ingress> pod_ingress_;
  std::vector<ScopedFd> links_;
  bool adopted_ = true;
  ring_buffer* events_ = nullptr;
  const std::function<void(const ConnectionClosed&)>* on_close_ = nullptr;
  std::unique_ptr<KernelFastPath> fast_path_;
};

absl::StatusOr<std::unique_ptr<Capture>> Capture::open(const CaptureOptions& options) {
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(impl->open(options));
  return std::unique_ptr<Capture>(new Capture(std::move(impl)));
}

Capture::Capture(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Capture::~Capture() = default;

bool Capture::adopted() const {
  return impl_->adopted_;
}

absl::Status Capture::setEnrolledCgroups(std::span<const uint64_t> cgroup_ids) {
  std::vector<std::pair<uint64_t, uint8_t>> entries;
  for (uint64_t id : cgroup_ids) {
    entries.emplace_back(id, 1);
  }
  return replaceEntries(impl_->mapFd(impl_->connect_->maps.weft_enrolled), entries,
                        "enrolled pod cgroups");
}

absl::Status Capture::setServices(std::span<const CapturedService> services) {
  std::vector<std::pair<weft_service_key, weft_service_value>> entries;
  for (const CapturedService& service : services) {
    entries.emplace_back(toServiceKey(service.vip),
                         weft_service_value{service.fast_path ? WEFT_SERVICE_FAST_PATH : 0u});
  }
  return replaceEntries(impl_->mapFd(impl_->connect_->maps.weft_services), entries,
                        "service addresses");
}

absl::Status Capture::setStrictPorts(std::span<const StrictPort> ports) {
  std::vector<std::pair<weft_strict_key, uint8_t>> entries;
  for (const StrictPort& port : ports) {
    entries.emplace_back(toStrictKey(port.pod, port.port),
                         port.strict ? WEFT_STRICT_ENFORCED : WEFT_STRICT_EXEMPT);
  }
  return replaceEntries(impl_->mapFd(impl_->pod_ingress_->maps.weft_strict), entries,
                        "STRICT pod ports");
}

absl::StatusOr<OriginalDestination> Capture::lookup(const common::SocketAddress& peer,
                                                    const common::SocketAddress& local) const {
  const weft_sock_key key = toSockKey(peer, local);  // the pod socket's own view
  weft_orig_dst orig{};
  if (bpf_map_lookup_elem(impl_->mapFd(impl_->connect_->maps.weft_tuples), &key, &orig) != 0) {
    return absl::NotFoundError(absl::StrCat("no capture record for ", peer.toString(), " -> ",
                                            local.toString(), " (not a captured connection)"));
  }
  return OriginalDestination{{fromWeftAddr(orig.ip), orig.port}, orig.cgroup_id};
}

int Capture::telemetryFd() const {
  return ring_buffer__epoll_fd(impl_->events_);
}

absl::Status Capture::drainTelemetry(const std::function<void(const ConnectionClosed&)>& on_close) {
  impl_->on_close_ = &on_close;
  const int n = ring_buffer__consume(impl_->events_);
  impl_->on_close_ = nullptr;
  if (n < 0) {
    return absl::InternalError(absl::StrCat("reading telemetry events: ", errnoText(n)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Capture::Counter>> Capture::counters() const {
  const int fd = impl_->mapFd(impl_->connect_->maps.weft_stats);
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return absl::InternalError("cannot count possible CPUs");
  }
  std::vector<uint64_t> per_cpu(cpus);
  std::vector<Counter> out;
  for (uint32_t key = 0; key < WEFT_STAT_MAX; ++key) {
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) {
      return absl::InternalError(
          absl::StrCat("reading counter ", kStatNames[key], ": ", errnoText(errno)));
    }
    uint64_t sum = 0;
    for (uint64_t v : per_cpu) {
      sum += v;
    }
    out.push_back({kStatNames[key], sum});
  }
  return out;
}

FastPath& Capture::fastPath() {
  return *impl_->fast_path_;
}

absl::Status Capture::uninstall(const std::string& bpffs_root) {
  RETURN_IF_ERROR(checkRoot());
  RETURN_IF_ERROR(checkBpffs(bpffs_root));
  RETURN_IF_ERROR(detachPinnedLinks(absl::StrCat(bpffs_root, "/", WEFT_LINKS_DIR)));
  for (const char* name : {WEFT_MAP_ENROLLED, WEFT_MAP_SERVICES, WEFT_MAP_SOCKETS, WEFT_MAP_TUPLES,
                           WEFT_MAP_EVENTS, WEFT_MAP_STATS, WEFT_MAP_MSG_SOCKS, WEFT_MAP_MSG_FLOWS,
                           WEFT_MAP_MSG_PAIRS, WEFT_MAP_MSG_EXPECT, WEFT_MAP_STRICT}) {
    const std::string pin = absl::StrCat(bpffs_root, "/", name);
    if (unlink(pin.c_str()) != 0 && errno != ENOENT) {
      return absl::UnavailableError(absl::StrCat("removing pin ", pin, ": ", errnoText(errno)));
    }
  }
  if (rmdir(bpffs_root.c_str()) != 0 && errno != ENOENT) {
    std::vector<std::string> left;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(bpffs_root, ec)) {
      left.push_back(entry.path().filename().string());
    }
    return absl::FailedPreconditionError(absl::StrCat("removed weft's pins but ", bpffs_root,
                                                      " still holds: ", absl::StrJoin(left, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace weft::agent::capture
