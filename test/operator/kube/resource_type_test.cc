#include "operator/kube/resource_type.h"

#include <catch2/catch.hpp>

namespace weft::op::kube {
namespace {

TEST_CASE("API paths of core and grouped, namespaced and cluster-scoped types") {
  CHECK(kPods.collectionPath() == "/api/v1/pods");
  CHECK(kPods.collectionPath("demo") == "/api/v1/namespaces/demo/pods");
  CHECK(kPods.objectPath("demo", "web-1") == "/api/v1/namespaces/demo/pods/web-1");
  CHECK(kPods.objectPath("demo", "web-1", "status") == "/api/v1/namespaces/demo/pods/web-1/status");
  CHECK(kNamespaces.collectionPath("ignored") == "/api/v1/namespaces");
  CHECK(kNamespaces.objectPath("", "demo") == "/api/v1/namespaces/demo");
  CHECK(kEndpointSlices.collectionPath() == "/apis/discovery.k8s.io/v1/endpointslices");
  CHECK(kTrafficPolicies.objectPath("demo", "tp", "status") ==
        "/apis/weft.io/v1alpha1/namespaces/demo/trafficpolicies/tp/status");
  CHECK(kPods.apiVersion() == "v1");
  CHECK(kPeerAuthentications.apiVersion() == "weft.io/v1alpha1");
  CHECK(kServices.qualifiedName() == "services");
  CHECK(kAuthorizationPolicies.qualifiedName() == "authorizationpolicies.weft.io");
  CHECK(watchedResources().size() == 7);
}

TEST_CASE("query strings percent-encode what is not unreserved") {
  CHECK(queryString({{"watch", "1"}, {"resourceVersion", "12"}}) == "watch=1&resourceVersion=12");
  CHECK(queryString({{"continue", "eyJ2Ijo/+=="}}) == "continue=eyJ2Ijo%2F%2B%3D%3D");
  CHECK(queryString({}).empty());
}

}  // namespace
}  // namespace weft::op::kube
