#pragma once

// The Kubernetes resource types weft reads, and how their API paths are built:
//   core:      /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
//   a group:   /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace weft::op::kube {

struct ResourceType {
  const char* group;    // "" for the core group
  const char* version;  // "v1"
  const char* plural;   // "pods": the path segment, and the RBAC resource name
  const char* kind;     // "Pod"
  bool namespaced;

  // "v1" or "discovery.k8s.io/v1": the apiVersion field of its objects.
  std::string apiVersion() const;
  // "pods" or "endpointslices.discovery.k8s.io": how kubectl and errors name it.
  std::string qualifiedName() const;
  // The collection, across all namespaces when `namespace_name` is empty.
  std::string collectionPath(absl::string_view namespace_name = "") const;
  // One object; `subresource` e.g. "status".
  std::string objectPath(absl::string_view namespace_name, absl::string_view name,
                         absl::string_view subresource = "") const;
};

inline constexpr ResourceType kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline constexpr ResourceType kPods{"", "v1", "pods", "Pod", true};
inline constexpr ResourceType kServices{"", "v1", "services", "Service", true};
inline constexpr ResourceType kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices",
                                              "EndpointSlice", true};
inline constexpr ResourceType kTrafficPolicies{"weft.io", "v1alpha1", "trafficpolicies",
                                               "TrafficPolicy", true};
inline constexpr ResourceType kAuthorizationPolicies{"weft.io", "v1alpha1", "authorizationpolicies",
                                                     "AuthorizationPolicy", true};
inline constexpr ResourceType kPeerAuthentications{"weft.io", "v1alpha1", "peerauthentications",
                                                   "PeerAuthentication", true};

// Everything the Kubernetes source lists and watches, in the order it starts them.
const std::vector<const ResourceType*>& watchedResources();

// "a=1&b=x%2Fy": a query string, values percent-encoded (continue tokens are base64).
std::string queryString(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace weft::op::kube
