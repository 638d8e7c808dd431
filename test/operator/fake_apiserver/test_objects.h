#pragma once

// Kubernetes objects as the API server holds them, for tests that drive the fake API server.

#include <nlohmann/json.hpp>
#include <string>

namespace weft::test::kube {

inline nlohmann::json namespaceJson(const std::string& name, bool mesh = false) {
  nlohmann::json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
  if (mesh) {
    ns["metadata"]["labels"] = {{"weft.io/mesh", "enabled"}};
  }
  return ns;
}

// A running, ready pod with an IP, as the kubelet reports it.
inline nlohmann::json podJson(const std::string& name, const std::string& ns,
                              const std::string& node, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", "uid-" + name},
            {"labels", {{"app", "backend"}}},
            // Large fields weft does not read, as a real object has them.
            {"managedFields", {{{"manager", "kubelet"}, {"operation", "Update"}}}},
            {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}}}}},
          {"spec",
           {{"nodeName", node},
            {"serviceAccountName", "backend"},
            {"containers",
             {{{"name", "app"},
               {"image", "nginx"},
               {"ports", {{{"name", "http"}, {"containerPort", 8080}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"podIP", ip},
            {"podIPs", {{{"ip", ip}}}},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

inline nlohmann::json serviceJson(const std::string& name, const std::string& ns,
                                  const std::string& cluster_ip) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec",
       {{"clusterIP", cluster_ip},
        {"clusterIPs", {cluster_ip}},
        {"selector", {{"app", "backend"}}},
        {"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}}}}}};
}

inline nlohmann::json trafficPolicyJson(const std::string& name, const std::string& ns) {
  return {{"apiVersion", "weft.io/v1alpha1"},
          {"kind", "TrafficPolicy"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"targetRef", {{"kind", "Service"}, {"name", "backend"}}}, {"retries", 3}}}};
}

}  // namespace weft::test::kube
