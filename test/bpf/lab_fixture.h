#pragma once

// A throwaway piece of lab for in-kernel tests: a network namespace for this test process,
// a weft-owned cgroup v2 subtree laid out like kubelet's, a private bpffs directory, and
// "pod" processes forked into the pod cgroups. Everything is removed again by destructors,
// also when a test fails halfway.

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/net/address.h"

namespace weft::test {

// Addresses inside the test namespace (all on lo).
inline constexpr const char* kCaptureIpv4 = "10.244.1.1";  // the agent (pods' gateway)
inline constexpr const char* kCaptureIpv6 = "fd00:244:1::1";
inline constexpr const char* kPodIpv4 = "10.244.1.5";  // a plain pod server
inline constexpr const char* kVipIpv4 = "10.96.0.10";  // a service VIP (blackholed)
inline constexpr const char* kVipIpv6 = "fd00:96::10";
inline constexpr uint16_t kOutboundPort = 15001;

// Moves this process into a fresh network namespace (lo up, the lab addresses on lo, VIP
// ranges blackholed, no default route) and back out on destruction.
class TestNetns {
 public:
  TestNetns();
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

 private:
  int original_ = -1;
};

// <cg2>/weft-test-<pid>/kubepods/pod<uid>/app for each uid; removed on destruction.
class TestCgroups {
 public:
  explicit TestCgroups(const std::vector<std::string>& pod_uids);
  ~TestCgroups();
  TestCgroups(const TestCgroups&) = delete;
  TestCgroups& operator=(const TestCgroups&) = delete;

  const std::string& kubepods() const { return kubepods_; }
  std::string pod(const std::string& uid) const { return kubepods_ + "/pod" + uid; }
  std::string app(const std::string& uid) const { return pod(uid) + "/app"; }
  uint64_t podId(const std::string& uid) const;

 private:
  std::string top_;
  std::string kubepods_;
  std::vector<std::string> created_;  // in creation order
};

// /sys/fs/bpf/weft-test-<pid>[-suffix]; uninstalled and removed on destruction.
class TestBpffs {
 public:
  explicit TestBpffs(const std::string& suffix = "");
  ~TestBpffs();
  TestBpffs(const TestBpffs&) = delete;
  TestBpffs& operator=(const TestBpffs&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Two pipes between the test and a forked child. Reads give up after a safety timeout
// (a hung kernel path fails the test instead of hanging it); no test asserts on timing.
class Channel {
 public:
  Channel(int read_fd, int write_fd) : read_(read_fd), write_(write_fd) {}
  bool sendBytes(const void* data, size_t size);
  bool recvBytes(void* data, size_t size);
  template <typename T>
  bool send(const T& v) {
    return sendBytes(&v, sizeof(v));
  }
  template <typename T>
  std::optional<T> recv() {
    T v;
    if (!recvBytes(&v, sizeof(v))) {
      return std::nullopt;
    }
    return v;
  }
  void closeAll();

 private:
  int read_;
  int write_;
};

// A process forked into `cgroup_dir` (like a container of a pod; "" stays in the test's
// cgroup) running `body`; its exit code is body's return value. Killed and reaped on
// destruction if still running.
class PodProcess {
 public:
  PodProcess(const std::string& cgroup_dir, std::function<int(Channel&)> body);
  ~PodProcess();
  PodProcess(const PodProcess&) = delete;
  PodProcess& operator=(const PodProcess&) = delete;

  Channel& channel() { return channel_; }
  // Waits for the child and returns its exit code (-1 if it died otherwise).
  int wait();

 private:
  int pid_ = -1;
  Channel channel_{-1, -1};
};

// Socket helpers (blocking, with the same safety timeout as Channel).
int listenOn(const std::string& ip, uint16_t port);  // -1 on failure
int acceptWithin(int listener);                      // -1 when nothing arrives
bool hasPendingConnection(int listener);             // non-blocking check
int connectTo(const common::SocketAddress& to, int family, int type = SOCK_STREAM);
bool writeAll(int fd, const void* data, size_t size);
bool readExactly(int fd, void* data, size_t size);
bool readEof(int fd);  // true when the next read returns 0
common::SocketAddress peerOf(int fd);
common::SocketAddress localOf(int fd);
common::SocketAddress addr(const char* ip, uint16_t port);

// Entries in a pinned BPF map.
size_t mapEntriesOf(const std::string& pin, size_t key_size);

// Programs attached to the cgroup directory for any of weft's cgroup attach types.
int programsAttachedTo(const std::string& cgroup_dir);

}  // namespace weft::test
