#include "agent/capture/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "agent/capture/capture.h"

namespace weft::agent::capture {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUid = "8f3a1c2e-1b2c-4d5e-9f00-123456789abc";
constexpr const char* kSystemdUid = "8f3a1c2e_1b2c_4d5e_9f00_123456789abc";

// A scratch directory tree standing in for a cgroup hierarchy.
class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/weft-cgroup-test-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~TempTree() { fs::remove_all(root_); }
  std::string mk(const std::string& rel) const {
    fs::create_directories(root_ / rel);
    return (root_ / rel).string();
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

TEST_CASE("the cgroup2 mount is found among v1 mounts of a hybrid host", "[cgroup]") {
  const char* mounts =
      "sysfs /sys sysfs rw,nosuid 0 0\n"
      "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
  auto mount = parseCgroup2Mount(mounts);
  REQUIRE(mount.ok());
  CHECK(*mount == "/sys/fs/cgroup/unified");
}

TEST_CASE("a unified host's cgroup2 mount is found", "[cgroup]") {
  auto mount = parseCgroup2Mount("cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n");
  REQUIRE(mount.ok());
  CHECK(*mount == "/sys/fs/cgroup");
}

TEST_CASE("escaped spaces in a mount point are decoded", "[cgroup]") {
  auto mount = parseCgroup2Mount("none /mnt/my\\040cgroups cgroup2 rw 0 0\n");
  REQUIRE(mount.ok());
  CHECK(*mount == "/mnt/my cgroups");
}

TEST_CASE("no cgroup2 mount is an error that says how to mount one", "[cgroup]") {
  auto mount = parseCgroup2Mount("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n");
  REQUIRE_FALSE(mount.ok());
  CHECK_THAT(std::string(mount.status().message()), Catch::Contains("mount -t cgroup2"));
}

TEST_CASE("a cgroupfs-driver pod cgroup is found under its QoS class", "[cgroup]") {
  TempTree tree;
  tree.mk("besteffort/podaaaa/app");
  const std::string pod = tree.mk(std::string("burstable/pod") + kUid);
  tree.mk(std::string("burstable/pod") + kUid + "/app");
  auto found = findPodCgroup(tree.root(), kUid);
  REQUIRE(found.ok());
  CHECK(*found == pod);
}

TEST_CASE("a guaranteed pod sits directly below kubepods", "[cgroup]") {
  TempTree tree;
  const std::string pod = tree.mk(std::string("pod") + kUid);
  auto found = findPodCgroup(tree.root(), kUid);
  REQUIRE(found.ok());
  CHECK(*found == pod);
}

TEST_CASE("a systemd-driver pod slice is found with its UID's dashes as underscores", "[cgroup]") {
  TempTree tree;
  const std::string pod = tree.mk(std::string("kubepods-burstable.slice/kubepods-burstable-pod") +
                                  kSystemdUid + ".slice");
  tree.mk(std::string("kubepods-burstable.slice/kubepods-burstable-pod") + kSystemdUid +
          ".slice/cri-containerd-abc.scope");
  auto found = findPodCgroup(tree.root(), kUid);
  REQUIRE(found.ok());
  CHECK(*found == pod);
}

TEST_CASE("a pod whose UID only starts like the wanted one is not a match", "[cgroup]") {
  TempTree tree;
  tree.mk(std::string("burstable/pod") + kUid + "0");
  tree.mk(std::string("kubepods-pod") + kSystemdUid + "0.slice");
  auto found = findPodCgroup(tree.root(), kUid);
  REQUIRE_FALSE(found.ok());
  CHECK(found.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(found.status().message()), Catch::Contains(kUid));
}

TEST_CASE("the search stops at kubelet's depth", "[cgroup]") {
  TempTree tree;
  tree.mk(std::string("a/b/c/pod") + kUid);
  CHECK_FALSE(findPodCgroup(tree.root(), kUid).ok());
}

TEST_CASE("a UID with path characters is rejected before touching the filesystem", "[cgroup]") {
  TempTree tree;
  tree.mk("pod../x");
  auto found = findPodCgroup(tree.root(), "../x");
  REQUIRE_FALSE(found.ok());
  CHECK(found.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a missing cgroup root is reported", "[cgroup]") {
  auto found = findPodCgroup("/nonexistent/weft/kubepods", kUid);
  REQUIRE_FALSE(found.ok());
  CHECK_THAT(std::string(found.status().message()), Catch::Contains("/nonexistent/weft/kubepods"));
}

TEST_CASE("a cgroup id is the inode number of its directory", "[cgroup]") {
  TempTree tree;
  const std::string dir = tree.mk("pod1");
  struct stat st;
  REQUIRE(stat(dir.c_str(), &st) == 0);
  auto id = cgroupId(dir);
  REQUIRE(id.ok());
  CHECK(*id == st.st_ino);
  CHECK_FALSE(cgroupId(dir + "/missing").ok());
}

}  // namespace
}  // namespace weft::agent::capture
