#pragma once

// A valid NodeConfig of any size for node1, for tests that compare behaviour across cluster
// sizes: `services` services (VIP 10.96.x.y, port 80) with `endpoints` endpoints each, and
// two local workloads.

#include <string>

#include "absl/strings/str_cat.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::test {

inline api::v1alpha1::NodeConfig syntheticConfig(int services, int endpoints = 3) {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node1");
  config.set_version("v1");
  for (int i = 0; i < 2; ++i) {
    auto* w = config.add_workloads();
    w->set_name(absl::StrCat("pod-", i));
    w->set_namespace_("demo");
    w->set_uid(absl::StrCat("uid-", i));
    w->set_ip(absl::StrCat("10.244.1.", 10 + i));
    w->set_mesh_enabled(true);
  }
  for (int s = 0; s < services; ++s) {
    auto* svc = config.add_services();
    svc->set_name(absl::StrCat("svc-", s));
    svc->set_namespace_("demo");
    svc->add_vips(absl::StrCat("10.96.", s / 250, ".", s % 250 + 1));
    auto* port = svc->add_ports();
    port->set_port(80);
    port->set_target_port(8080);
    for (int e = 0; e < endpoints; ++e) {
      auto* ep = svc->add_endpoints();
      ep->set_ip(absl::StrCat("10.244.", 2 + e, ".", s % 250 + 1));
      ep->set_node(absl::StrCat("node", 2 + e));
      ep->set_workload(absl::StrCat("svc-", s, "-", e));
      ep->set_ready(true);
    }
  }
  return config;
}

}  // namespace weft::test
