#include "test/bpf/lab_fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/capture/capture.h"

namespace weft::test {
namespace {

// Only guards against a hang; never part of what a test asserts.
constexpr int kSafetyTimeoutMs = 20000;

void run(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("lab setup command failed: " + cmd);
  }
}

// The pid in a "weft-test-<pid>[-suffix]" name, or -1.
int ownerPid(const std::string& name) {
  constexpr const char* kPrefix = "weft-test-";
  if (name.rfind(kPrefix, 0) != 0) {
    return -1;
  }
  return std::atoi(name.c_str() + std::strlen(kPrefix));
}

bool alive(int pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// A test run killed with SIGKILL cannot run destructors; the next run removes what it left
// (only weft-test-<pid> entries whose process is gone).
void sweepStaleBpffs() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/fs/bpf", ec)) {
    const int pid = ownerPid(entry.path().filename().string());
    if (pid > 0 && !alive(pid)) {
      (void)agent::capture::Capture::uninstall(entry.path().string());
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

void removeCgroupTree(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec)) {
      removeCgroupTree(entry.path());
    }
  }
  rmdir(dir.c_str());  // cgroup directories go with rmdir, their files with them
}

void sweepStaleCgroups(const std::string& cg2) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(cg2, ec)) {
    const int pid = ownerPid(entry.path().filename().string());
    if (pid > 0 && !alive(pid) && entry.is_directory(ec)) {
      removeCgroupTree(entry.path());
    }
  }
}

bool waitReadable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

TestNetns::TestNetns() {
  original_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_ < 0 || unshare(CLONE_NEWNET) != 0) {
    throw std::runtime_error(std::string("cannot create a network namespace: ") +
                             std::strerror(errno));
  }
  run("ip link set lo up");
  run(std::string("ip addr add ") + kCaptureIpv4 + "/32 dev lo");
  run(std::string("ip addr add ") + kPodIpv4 + "/32 dev lo");
  run(std::string("ip -6 addr add ") + kCaptureIpv6 + "/128 dev lo nodad");
  // A connect the mesh fails to capture must fail here, not leave the namespace.
  run("ip route add blackhole 10.96.0.0/16");
  run("ip -6 route add blackhole fd00:96::/64");
}

TestNetns::~TestNetns() {
  if (original_ >= 0) {
    setns(original_, CLONE_NEWNET);
    close(original_);
  }
}

TestCgroups::TestCgroups(const std::vector<std::string>& pod_uids) {
  auto cg2 = agent::capture::findCgroup2Mount();
  if (!cg2.ok()) {
    throw std::runtime_error(std::string(cg2.status().message()));
  }
  sweepStaleCgroups(*cg2);
  top_ = *cg2 + "/weft-test-" + std::to_string(getpid());
  kubepods_ = top_ + "/kubepods";
  std::vector<std::string> dirs{top_, kubepods_};
  for (const std::string& uid : pod_uids) {
    dirs.push_back(pod(uid));
    dirs.push_back(app(uid));
  }
  for (const std::string& dir : dirs) {
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      throw std::runtime_error("cannot create cgroup " + dir + ": " + std::strerror(errno));
    }
    created_.push_back(dir);
  }
}

TestCgroups::~TestCgroups() {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    rmdir(it->c_str());
  }
}

uint64_t TestCgroups::podId(const std::string& uid) const {
  auto id = agent::capture::cgroupId(pod(uid));
  if (!id.ok()) {
    throw std::runtime_error(std::string(id.status().message()));
  }
  return *id;
}

TestBpffs::TestBpffs(const std::string& suffix) {
  struct statfs sfs;
  if (statfs("/sys/fs/bpf", &sfs) != 0 || sfs.f_type != BPF_FS_MAGIC) {
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) != 0) {
      throw std::runtime_error(std::string("cannot mount bpffs at /sys/fs/bpf: ") +
                               std::strerror(errno));
    }
  }
  sweepStaleBpffs();
  path_ = "/sys/fs/bpf/weft-test-" + std::to_string(getpid()) + suffix;
}

TestBpffs::~TestBpffs() {
  (void)agent::capture::Capture::uninstall(path_);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);  // best effort if uninstall stopped early
}

bool Channel::sendBytes(const void* data, size_t size) {
  return writeAll(write_, data, size);
}

bool Channel::recvBytes(void* data, size_t size) {
  return readExactly(read_, data, size);
}

void Channel::closeAll() {
  if (read_ >= 0) {
    close(read_);
  }
  if (write_ >= 0) {
    close(write_);
  }
  read_ = write_ = -1;
}

PodProcess::PodProcess(const std::string& cgroup_dir, std::function<int(Channel&)> body) {
  int to_child[2];
  int to_parent[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(to_parent, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    bool joined = cgroup_dir.empty();
    if (!joined) {
      const std::string procs = cgroup_dir + "/cgroup.procs";
      const int fd = open(procs.c_str(), O_WRONLY);
      joined = fd >= 0 && write(fd, "0", 1) == 1;
      close(fd);
    }
    Channel ch(to_child[0], to_parent[1]);
    _exit(joined ? body(ch) : 100);
  }
  close(to_child[0]);
  close(to_parent[1]);
  channel_ = Channel(to_parent[0], to_child[1]);
}

PodProcess::~PodProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  channel_.closeAll();
}

int PodProcess::wait() {
  int status = 0;
  if (pid_ <= 0 || waitpid(pid_, &status, 0) != pid_) {
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

common::SocketAddress addr(const char* ip, uint16_t port) {
  return common::SocketAddress{*common::IpAddress::Parse(ip), port};
}

int listenOn(const std::string& ip, uint16_t port) {
  const common::SocketAddress at = addr(ip.c_str(), port);
  sockaddr_storage ss;
  const socklen_t len = at.toSockaddr(&ss);
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int acceptWithin(int listener) {
  if (!waitReadable(listener, kSafetyTimeoutMs)) {
    return -1;
  }
  return accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
}

bool hasPendingConnection(int listener) {
  return waitReadable(listener, 0);
}

int connectTo(const common::SocketAddress& to, int family, int type) {
  const int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET6) {
    // A dual-stack socket reaches IPv4 through v4-mapped addresses.
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(to.port);
    std::memcpy(in6->sin6_addr.s6_addr, to.ip.bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  } else {
    len = to.toSockaddr(&ss);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

bool writeAll(int fd, const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= n;
  }
  return true;
}

bool readExactly(int fd, void* data, size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    if (!waitReadable(fd, kSafetyTimeoutMs)) {
      return false;
    }
    const ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    size -= n;
  }
  return true;
}

bool readEof(int fd) {
  char c;
  return waitReadable(fd, kSafetyTimeoutMs) && read(fd, &c, 1) == 0;
}

common::SocketAddress peerOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  auto a = common::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return a.ok() ? *a : common::SocketAddress{};
}

common::SocketAddress localOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  auto a = common::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return a.ok() ? *a : common::SocketAddress{};
}

size_t mapEntriesOf(const std::string& pin, size_t key_size) {
  const int fd = bpf_obj_get(pin.c_str());
  if (fd < 0) {
    throw std::runtime_error("cannot open pinned map " + pin);
  }
  std::vector<char> key(key_size), next(key_size);
  size_t n = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++n;
    key = next;
    prev = key.data();
  }
  close(fd);
  return n;
}

int programsAttachedTo(const std::string& cgroup_dir) {
  const int fd = open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("cannot open cgroup " + cgroup_dir);
  }
  int total = 0;
  for (bpf_attach_type type :
       {BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_INET4_GETPEERNAME,
        BPF_CGROUP_INET6_GETPEERNAME, BPF_CGROUP_SOCK_OPS, BPF_CGROUP_INET_INGRESS}) {
    uint32_t count = 0;
    uint32_t flags = 0;
    if (bpf_prog_query(fd, type, 0, &flags, nullptr, &count) == 0) {
      total += static_cast<int>(count);
    }
  }
  close(fd);
  return total;
}

}  // namespace weft::test
