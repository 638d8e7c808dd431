// Lifecycle of the pinned data plane: adoption across an agent restart or kill -9, reload
// when the tunables change, uninstall, and the one-line errors for a machine that cannot
// host it.

#include <bpf/bpf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "agent/capture/capture.h"
#include "test/bpf/capture_lab.h"

namespace weft::test {
namespace {

using agent::capture::Capture;

// The pod dials the IPv4 VIP; true when the connection arrived at `listener` (captured) and
// the agent's table knows it (when `capture` is given).
bool dialIsCaptured(const CaptureLab& lab, int listener, const Capture* capture = nullptr) {
  PodDial dial(lab, kEnrolledPod, lab.vip4);
  if (!dial.connected() || !hasPendingConnection(listener)) {
    return false;
  }
  Fd accepted(acceptWithin(listener));
  if (capture == nullptr) {
    return accepted.fd >= 0;
  }
  auto orig = capture->lookup(peerOf(accepted.fd), localOf(accepted.fd));
  return orig.ok() && orig->address == lab.vip4;
}

size_t pinnedLinks(const TestBpffs& bpffs) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(bpffs.path() + "/links", ec)) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST_CASE("a fresh install loads and attaches below the cgroup root and pins its links",
          "[bpf][lifecycle]") {
  CaptureLab lab;
  CHECK_FALSE(lab.capture->adopted());
  CHECK(programsAttachedTo(lab.cgroups.kubepods()) == 6);
  CHECK(pinnedLinks(lab.bpffs) == 7);  // 6 cgroup programs + sk_msg on the fast-path sockhash
  CHECK(dialIsCaptured(lab, lab.capture_v4.fd, lab.capture.get()));
}

TEST_CASE("capture goes on while no agent runs and a new agent adopts the pins",
          "[bpf][lifecycle]") {
  CaptureLab lab;
  lab.capture.reset();  // the agent goes away without uninstalling
  CHECK(dialIsCaptured(lab, lab.capture_v4.fd));

  auto again = lab.open();
  REQUIRE(again.ok());
  CHECK((*again)->adopted());
  CHECK(programsAttachedTo(lab.cgroups.kubepods()) == 6);  // nothing attached twice
  CHECK(dialIsCaptured(lab, lab.capture_v4.fd, again->get()));
}

TEST_CASE("a connection made while the agent was down is found by the next agent",
          "[bpf][lifecycle]") {
  CaptureLab lab;
  lab.capture.reset();
  PodDial dial(lab, kEnrolledPod, lab.vip4);
  REQUIRE(dial.connected());
  Fd accepted(acceptWithin(lab.capture_v4.fd));
  REQUIRE(accepted.fd >= 0);

  auto again = lab.open();
  REQUIRE(again.ok());
  auto orig = (*again)->lookup(peerOf(accepted.fd), localOf(accepted.fd));
  REQUIRE(orig.ok());
  CHECK(orig->address == lab.vip4);
  CHECK(orig->cgroup_id == lab.cgroups.podId(kEnrolledPod));
}

TEST_CASE("an agent killed with SIGKILL leaves capture running for the next one",
          "[bpf][lifecycle]") {
  CaptureLab lab;
  lab.capture.reset();
  const std::string bpffs = lab.bpffs.path();
  const std::string kubepods = lab.cgroups.kubepods();
  PodProcess agent("", [&](Channel& ch) {
    auto capture = Capture::open(captureOptions(bpffs, kubepods));
    ch.send(static_cast<char>(capture.ok() && (*capture)->adopted() ? 'a' : 'f'));
    ch.recv<char>();
    raise(SIGKILL);
    return 0;
  });
  CHECK(agent.channel().recv<char>() == 'a');
  agent.channel().send('x');
  CHECK(agent.wait() == -1);  // died by the signal

  CHECK(dialIsCaptured(lab, lab.capture_v4.fd));
  auto again = lab.open();
  REQUIRE(again.ok());
  CHECK((*again)->adopted());
}

TEST_CASE("changed tunables replace the programs inside the pinned links without a gap",
          "[bpf][lifecycle]") {
  CaptureLab lab;
  Fd other_port(listenOn(kCaptureIpv4, kOutboundPort + 1));
  REQUIRE(other_port.fd >= 0);
  auto moved = lab.open(kOutboundPort + 1);
  REQUIRE(moved.ok());
  CHECK_FALSE((*moved)->adopted());
  CHECK(programsAttachedTo(lab.cgroups.kubepods()) == 6);
  CHECK(pinnedLinks(lab.bpffs) == 7);
  CHECK(dialIsCaptured(lab, other_port.fd, moved->get()));
  CHECK_FALSE(hasPendingConnection(lab.capture_v4.fd));
}

TEST_CASE("pins attached to another cgroup are not adopted", "[bpf][lifecycle]") {
  CaptureLab lab;
  auto elsewhere = Capture::open(captureOptions(lab.bpffs.path(), lab.cgroups.pod(kOtherPod)));
  REQUIRE_FALSE(elsewhere.ok());
  CHECK_THAT(std::string(elsewhere.status().message()), Catch::Contains("--uninstall"));
  CHECK(programsAttachedTo(lab.cgroups.pod(kOtherPod)) == 0);
}

TEST_CASE("uninstall detaches everything and removes every pin", "[bpf][lifecycle]") {
  CaptureLab lab;
  lab.capture.reset();
  REQUIRE(Capture::uninstall(lab.bpffs.path()).ok());
  CHECK(programsAttachedTo(lab.cgroups.kubepods()) == 0);
  CHECK_FALSE(std::filesystem::exists(lab.bpffs.path()));
  PodDial dial(lab, kEnrolledPod, lab.vip4);
  CHECK_FALSE(dial.connected());  // the VIP is blackholed again
}

TEST_CASE("uninstall detaches even while an agent still holds the links", "[bpf][lifecycle]") {
  CaptureLab lab;
  REQUIRE(Capture::uninstall(lab.bpffs.path()).ok());
  CHECK(programsAttachedTo(lab.cgroups.kubepods()) == 0);
  CHECK_FALSE(std::filesystem::exists(lab.bpffs.path()));
}

TEST_CASE("uninstall of a directory that holds nothing is fine", "[bpf][lifecycle]") {
  TestBpffs bpffs("-empty");
  CHECK(Capture::uninstall(bpffs.path()).ok());
}

TEST_CASE("pins of an incompatible version are refused with a clear error and left alone",
          "[bpf][lifecycle]") {
  TestCgroups cgroups({kEnrolledPod});
  TestBpffs bpffs;
  REQUIRE(mkdir(bpffs.path().c_str(), 0700) == 0);
  // A weft_tuples map with another value size, as an older weft might have pinned it.
  Fd old_map(bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "weft_tuples", 40, 8, 16, nullptr));
  REQUIRE(old_map.fd >= 0);
  const std::string pin = bpffs.path() + "/weft_tuples";
  REQUIRE(bpf_obj_pin(old_map.fd, pin.c_str()) == 0);

  auto capture = Capture::open(captureOptions(bpffs.path(), cgroups.kubepods()));
  REQUIRE_FALSE(capture.ok());
  const std::string message(capture.status().message());
  CHECK_THAT(message, Catch::Contains("weft_tuples"));
  CHECK_THAT(message, Catch::Contains("--uninstall"));
  CHECK(std::filesystem::exists(pin));
  CHECK(programsAttachedTo(cgroups.kubepods()) == 0);
}

struct OpenError {
  const char* description;
  std::string bpffs_root;
  std::string cgroup_root;
  bool with_capture_address;
  absl::StatusCode code;
  const char* says;
};

TEST_CASE("a machine that cannot host the data plane gets a one-line reason", "[bpf][lifecycle]") {
  TestCgroups cgroups({kEnrolledPod});
  TestBpffs bpffs;
  const std::string cg2 = *agent::capture::findCgroup2Mount();
  const OpenError cases[] = {
      {"the cgroup root is the whole machine", bpffs.path(), cg2, true,
       absl::StatusCode::kInvalidArgument, "root of the cgroup v2 hierarchy"},
      {"the cgroup root does not exist", bpffs.path(), cgroups.kubepods() + "/missing", true,
       absl::StatusCode::kNotFound, "does not exist"},
      {"the cgroup root is not on cgroup v2", bpffs.path(), "/tmp", true,
       absl::StatusCode::kFailedPrecondition, "not a cgroup v2 directory"},
      {"the bpffs root is not on bpffs", "/tmp/weft-not-bpffs/x", cgroups.kubepods(), true,
       absl::StatusCode::kFailedPrecondition, "mount -t bpf bpf"},
      {"no capture address", bpffs.path(), cgroups.kubepods(), false,
       absl::StatusCode::kInvalidArgument, "--capture-ipv4"},
  };
  for (const OpenError& c : cases) {
    SECTION(c.description) {
      agent::capture::CaptureOptions o = captureOptions(c.bpffs_root, c.cgroup_root);
      if (!c.with_capture_address) {
        o.agent_ipv4 = {};
        o.agent_ipv6 = {};
      }
      auto capture = Capture::open(o);
      REQUIRE_FALSE(capture.ok());
      CHECK(capture.status().code() == c.code);
      const std::string message(capture.status().message());
      CHECK_THAT(message, Catch::Contains(c.says));
      CHECK(message.find('\n') == std::string::npos);
      CHECK_FALSE(std::filesystem::exists(bpffs.path()));  // nothing was pinned
      CHECK(programsAttachedTo(cgroups.kubepods()) == 0);
    }
  }
}

TEST_CASE("an agent that is not root is told so", "[bpf][lifecycle]") {
  TestCgroups cgroups({kEnrolledPod});
  TestBpffs bpffs;
  const std::string bpffs_root = bpffs.path(), kubepods = cgroups.kubepods();
  PodProcess nobody("", [&](Channel& ch) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
      return 1;
    }
    auto capture = Capture::open(captureOptions(bpffs_root, kubepods));
    const bool told = !capture.ok() &&
                      capture.status().code() == absl::StatusCode::kPermissionDenied &&
                      std::string(capture.status().message()).find("root") != std::string::npos;
    return told ? 0 : 2;
  });
  CHECK(nobody.wait() == 0);
  CHECK(programsAttachedTo(cgroups.kubepods()) == 0);
}

}  // namespace
}  // namespace weft::test
