#include "operator/kube/resource_type.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace weft::op::kube {

std::string ResourceType::apiVersion() const {
  return *group == '\0' ? std::string(version) : absl::StrCat(group, "/", version);
}

std::string ResourceType::qualifiedName() const {
  return *group == '\0' ? std::string(plural) : absl::StrCat(plural, ".", group);
}

std::string ResourceType::collectionPath(absl::string_view namespace_name) const {
  const std::string root =
      *group == '\0' ? absl::StrCat("/api/", version) : absl::StrCat("/apis/", group, "/", version);
  if (namespaced && !namespace_name.empty()) {
    return absl::StrCat(root, "/namespaces/", namespace_name, "/", plural);
  }
  return absl::StrCat(root, "/", plural);
}

std::string ResourceType::objectPath(absl::string_view namespace_name, absl::string_view name,
                                     absl::string_view subresource) const {
  std::string path = absl::StrCat(collectionPath(namespace_name), "/", name);
  if (!subresource.empty()) {
    absl::StrAppend(&path, "/", subresource);
  }
  return path;
}

const std::vector<const ResourceType*>& watchedResources() {
  static const std::vector<const ResourceType*> kAll = {
      &kNamespaces,
      &kPods,
      &kServices,
      &kEndpointSlices,
      &kTrafficPolicies,
      &kAuthorizationPolicies,
      &kPeerAuthentications,
  };
  return kAll;
}

namespace {

// RFC 3986 unreserved characters stay; everything else is %XX.
std::string percentEncode(absl::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

}  // namespace

std::string queryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    absl::StrAppend(&out, out.empty() ? "" : "&", percentEncode(key), "=", percentEncode(value));
  }
  return out;
}

}  // namespace weft::op::kube
