#include "operator/model/objects.h"

namespace weft::op {

const char* kindName(CustomResourceKind kind) {
  switch (kind) {
    case CustomResourceKind::kTrafficPolicy:
      return "TrafficPolicy";
    case CustomResourceKind::kAuthorizationPolicy:
      return "AuthorizationPolicy";
    case CustomResourceKind::kPeerAuthentication:
      return "PeerAuthentication";
  }
  return "unknown";
}

namespace {

struct KindVisitor {
  std::string operator()(const Namespace&) const { return "Namespace"; }
  std::string operator()(const Pod&) const { return "Pod"; }
  std::string operator()(const Service&) const { return "Service"; }
  std::string operator()(const EndpointSlice&) const { return "EndpointSlice"; }
  std::string operator()(const CustomResource& r) const { return kindName(r.kind); }
};

struct KeyVisitor {
  ObjectKey operator()(const Namespace& n) const { return {"", n.name}; }
  template <typename T>
  ObjectKey operator()(const T& object) const {
    return object.key();
  }
};

}  // namespace

std::string kindOf(const SourceObject& object) {
  return std::visit(KindVisitor{}, object);
}

ObjectKey keyOf(const SourceObject& object) {
  return std::visit(KeyVisitor{}, object);
}

}  // namespace weft::op
