#include "agent/capture/pinned_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/capture/libbpf_log.h"
#include "common/util/status_macros.h"

namespace weft::agent::capture {
namespace {

// BPF_LINK_TYPE_SOCKMAP (Linux 6.10) is newer than the uapi headers we build against; its
// link info is { __u32 map_id; __u32 attach_type; } at the start of the union.
constexpr uint32_t kLinkTypeSockmap = 14;

std::string errnoText(int err) {
  return std::error_code(err < 0 ? -err : err, std::generic_category()).message();
}

bool exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}

absl::StatusOr<ScopedFd> openPin(const std::string& path) {
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open pin ", path, ": ", errnoText(errno)));
  }
  return ScopedFd(fd);
}

// The bytes of the .rodata map of program `prog_id`; empty when it has none.
absl::StatusOr<std::vector<uint8_t>> programRodata(uint32_t prog_id) {
  ScopedFd prog(bpf_prog_get_fd_by_id(prog_id));
  if (!prog.valid()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open program id ", prog_id, ": ", errnoText(errno)));
  }
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0) {
    return absl::UnavailableError(absl::StrCat("program info: ", errnoText(errno)));
  }
  std::vector<uint32_t> map_ids(info.nr_map_ids);
  bpf_prog_info with_maps{};
  with_maps.nr_map_ids = map_ids.size();
  with_maps.map_ids = reinterpret_cast<uint64_t>(map_ids.data());
  len = sizeof(with_maps);
  if (bpf_obj_get_info_by_fd(prog.get(), &with_maps, &len) != 0) {
    return absl::UnavailableError(absl::StrCat("program maps: ", errnoText(errno)));
  }
  for (uint32_t id : map_ids) {
    ScopedFd map(bpf_map_get_fd_by_id(id));
    if (!map.valid()) {
      continue;
    }
    bpf_map_info map_info{};
    len = sizeof(map_info);
    if (bpf_obj_get_info_by_fd(map.get(), &map_info, &len) != 0 ||
        !absl::EndsWith(map_info.name, ".rodata")) {
      continue;
    }
    std::vector<uint8_t> value(map_info.value_size);
    const uint32_t key = 0;
    if (bpf_map_lookup_elem(map.get(), &key, value.data()) != 0) {
      return absl::UnavailableError(absl::StrCat("reading .rodata: ", errnoText(errno)));
    }
    return value;
  }
  return std::vector<uint8_t>{};
}

struct PinnedLink {
  LinkTarget target;
  uint32_t prog_id = 0;
};

absl::StatusOr<PinnedLink> inspectPin(const std::string& pin_path) {
  ASSIGN_OR_RETURN(ScopedFd link, openPin(pin_path));
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link.get(), &info, &len) != 0) {
    return absl::UnavailableError(absl::StrCat("link info of ", pin_path, ": ", errnoText(errno)));
  }
  PinnedLink out;
  out.prog_id = info.prog_id;
  if (info.type == BPF_LINK_TYPE_CGROUP) {
    out.target = {LinkTarget::Kind::kCgroup, info.cgroup.cgroup_id,
                  absl::StrCat("cgroup id ", info.cgroup.cgroup_id)};
  } else if (info.type == kLinkTypeSockmap) {
    uint32_t map_id;
    std::memcpy(&map_id, &info.raw_tracepoint, sizeof(map_id));
    out.target = {LinkTarget::Kind::kMap, map_id, absl::StrCat("map id ", map_id)};
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat(pin_path, " is a link of unexpected type ", info.type));
  }
  return out;
}

// True when the pinned link runs the very program (object bytes and tunables) this agent
// would load; an error when it is attached somewhere else than `spec.target`.
absl::StatusOr<bool> adoptable(const ObjectSpec& spec, const std::string& pin_path) {
  ASSIGN_OR_RETURN(PinnedLink pinned, inspectPin(pin_path));
  if (pinned.target.kind != spec.target.kind || pinned.target.id != spec.target.id) {
    return absl::FailedPreconditionError(
        absl::StrCat("pinned link ", pin_path, " is attached to ", pinned.target.description,
                     ", not to ", spec.target.description,
                     "; remove the old pins with `weft-agent --uninstall "
                     "--bpffs-root=<dir>`"));
  }
  ASSIGN_OR_RETURN(std::vector<uint8_t> running, programRodata(pinned.prog_id));
  size_t size = 0;
  const void* wanted = bpf_map__initial_value(spec.rodata, &size);
  return wanted != nullptr && running.size() == size &&
         std::memcmp(running.data(), wanted, size) == 0;
}

absl::Status loadObject(const ObjectSpec& spec) {
  LibbpfLog log;
  const int err = bpf_object__load(spec.object);
  if (err != 0) {
    const std::string why = log.summary();
    // Pins of an incompatible weft version cannot be reused in place.
    const bool stale_pins = absl::StrContains(why, "pinned map");
    return absl::FailedPreconditionError(absl::StrCat(
        "loading BPF object ", spec.name, " failed: ", errnoText(err),
        why.empty() ? "" : absl::StrCat(" (libbpf: ", why, ")"),
        stale_pins ? "; remove the old pins with `weft-agent --uninstall --bpffs-root=<dir>`"
                   : ""));
  }
  return absl::OkStatus();
}

std::vector<bpf_program*> programsOf(bpf_object* object) {
  std::vector<bpf_program*> out;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, object) {
    out.push_back(prog);
  }
  return out;
}

// Removes the pins created so far unless dismissed (a failed load leaves no half install).
class PinRollback {
 public:
  ~PinRollback() {
    for (const std::string& pin : created_) {
      unlink(pin.c_str());
    }
  }
  void add(std::string pin) { created_.push_back(std::move(pin)); }
  void dismiss() { created_.clear(); }

 private:
  std::vector<std::string> created_;
};

absl::StatusOr<LoadedObject> adopt(const ObjectSpec& spec, const std::string& links_dir) {
  const std::vector<bpf_program*> programs = programsOf(spec.object);
  for (bpf_program* prog : programs) {
    bpf_program__set_autoload(prog, false);  // keep running what is attached
  }
  RETURN_IF_ERROR(loadObject(spec));  // creates nothing new: maps are reused from pins
  LoadedObject out;
  out.adopted = true;
  for (bpf_program* prog : programs) {
    ASSIGN_OR_RETURN(ScopedFd link, openPin(absl::StrCat(links_dir, "/", bpf_program__name(prog))));
    out.links.push_back(std::move(link));
  }
  return out;
}

absl::StatusOr<LoadedObject> loadAndAttach(const ObjectSpec& spec, const std::string& links_dir) {
  RETURN_IF_ERROR(loadObject(spec));
  LoadedObject out;
  PinRollback rollback;
  for (bpf_program* prog : programsOf(spec.object)) {
    const std::string pin = absl::StrCat(links_dir, "/", bpf_program__name(prog));
    if (exists(pin)) {
      // Swap the program inside the existing link: no moment without capture.
      ASSIGN_OR_RETURN(ScopedFd link, openPin(pin));
      if (bpf_link_update(link.get(), bpf_program__fd(prog), nullptr) != 0) {
        return absl::FailedPreconditionError(absl::StrCat("replacing the program of pinned link ",
                                                          pin, " failed: ", errnoText(errno)));
      }
      out.links.push_back(std::move(link));
      continue;
    }
    ASSIGN_OR_RETURN(ScopedFd link, spec.attach(prog));
    if (bpf_obj_pin(link.get(), pin.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("pinning link ", pin, " failed: ", errnoText(errno)));
    }
    rollback.add(pin);
    out.links.push_back(std::move(link));
  }
  rollback.dismiss();
  return out;
}

}  // namespace

absl::StatusOr<LinkTarget> pinnedLinkTarget(const std::string& pin_path) {
  ASSIGN_OR_RETURN(PinnedLink pinned, inspectPin(pin_path));
  return pinned.target;
}

absl::StatusOr<LoadedObject> loadOrAdopt(const ObjectSpec& spec, const std::string& links_dir) {
  bool all_pinned = true;
  bool all_same = true;
  for (bpf_program* prog : programsOf(spec.object)) {
    const std::string pin = absl::StrCat(links_dir, "/", bpf_program__name(prog));
    if (!exists(pin)) {
      all_pinned = false;
      continue;
    }
    ASSIGN_OR_RETURN(bool same, adoptable(spec, pin));
    all_same = all_same && same;
  }
  if (all_pinned && all_same) {
    return adopt(spec, links_dir);
  }
  return loadAndAttach(spec, links_dir);
}

absl::Status detachPinnedLinks(const std::string& links_dir) {
  DIR* dir = opendir(links_dir.c_str());
  if (dir == nullptr) {
    return errno == ENOENT ? absl::OkStatus()
                           : absl::UnavailableError(
                                 absl::StrCat("cannot list ", links_dir, ": ", errnoText(errno)));
  }
  std::vector<std::string> pins;
  while (dirent* entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      pins.push_back(absl::StrCat(links_dir, "/", entry->d_name));
    }
  }
  closedir(dir);
  for (const std::string& pin : pins) {
    // Detach explicitly: a still-running agent holding the link fd would keep it alive.
    ScopedFd link(bpf_obj_get(pin.c_str()));
    if (link.valid() && bpf_link_detach(link.get()) != 0 && errno != EINVAL) {
      return absl::UnavailableError(absl::StrCat("detaching ", pin, ": ", errnoText(errno)));
    }
    if (unlink(pin.c_str()) != 0 && errno != ENOENT) {
      return absl::UnavailableError(absl::StrCat("removing pin ", pin, ": ", errnoText(errno)));
    }
  }
  if (rmdir(links_dir.c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(absl::StrCat("removing ", links_dir, ": ", errnoText(errno)));
  }
  return absl::OkStatus();
}

}  // namespace weft::agent::capture
