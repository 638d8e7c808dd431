#include "operator/model/source_snapshot.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace weft::op {

const Namespace* SourceSnapshot::findNamespace(const std::string& name) const {
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? nullptr : &it->second;
}

const Pod* SourceSnapshot::findPod(const ObjectKey& key) const {
  auto it = pods_.find(key);
  return it == pods_.end() ? nullptr : &it->second;
}

size_t SourceSnapshot::objectCount() const {
  size_t count = namespaces_.size() + pods_.size() + services_.size() + endpoint_slices_.size();
  for (const auto& resources : custom_resources_) {
    count += resources.size();
  }
  return count;
}

namespace {

// Files each kind of object into its map.
struct Inserter {
  SourceSnapshot::ByKey<Pod>& pods;
  SourceSnapshot::ByKey<Service>& services;
  SourceSnapshot::ByKey<EndpointSlice>& slices;
  std::array<SourceSnapshot::ByKey<CustomResource>, 3>& custom;
  absl::btree_map<std::string, Namespace>& namespaces;

  void operator()(Namespace&& n) {
    std::string name = n.name;
    namespaces.emplace(std::move(name), std::move(n));
  }
  void operator()(Pod&& p) { pods.emplace(p.key(), std::move(p)); }
  void operator()(Service&& s) { services.emplace(s.key(), std::move(s)); }
  void operator()(EndpointSlice&& s) { slices.emplace(s.key(), std::move(s)); }
  void operator()(CustomResource&& r) {
    custom[static_cast<size_t>(r.kind)].emplace(r.key(), std::move(r));
  }
};

}  // namespace

absl::Status SourceSnapshotBuilder::add(SourceObject object, absl::string_view origin) {
  const std::string kind = kindOf(object);
  const ObjectKey key = keyOf(object);
  auto [it, fresh] = origins_.try_emplace({kind, key}, std::string(origin));
  if (!fresh) {
    return absl::AlreadyExistsError(absl::StrCat(kind, " ", key.toString(), " is defined in both ",
                                                 it->second, " and ", origin));
  }
  std::visit(
      [this](auto&& o) {
        Inserter{snapshot_.pods_, snapshot_.services_, snapshot_.endpoint_slices_,
                 snapshot_.custom_resources_, snapshot_.namespaces_}(std::move(o));
      },
      std::move(object));
  return absl::OkStatus();
}

SourceSnapshotPtr SourceSnapshotBuilder::build() && {
  return std::make_shared<const SourceSnapshot>(std::move(snapshot_));
}

}  // namespace weft::op
