#pragma once

// A valid NodeConfig for node1, shared by the config tests: two local pods (one enrolled,
// with an AuthorizationPolicy and a STRICT mTLS mode but for one port), a web service with two
// VIP ports and three endpoints (one not ready).

#include <string>

namespace weft::agent::config::testing {

inline const std::string kGoodConfigJson = R"json({
  "node_name": "node1",
  "version": "v1",
  "workloads": [
    {"name": "client-7d9f", "namespace": "default", "uid": "uid-client",
     "service_account": "client", "ip": "10.244.1.10", "workload_name": "client",
     "mesh_enabled": true, "authorization_policies": ["default/from-default"],
     "mtls_mode": "STRICT", "port_mtls_modes": {"15021": "PERMISSIVE"}},
    {"name": "batch-1", "namespace": "jobs", "uid": "uid-batch", "ip": "10.244.1.11"}
  ],
  "services": [
    {"name": "web", "namespace": "default", "vips": ["10.96.0.10", "fd00:96::10"],
     "ports": [{"name": "http", "port": 80, "target_port": 8080},
               {"name": "admin", "port": 9000},
               {"name": "dns", "port": 53, "protocol": "UDP"}],
     "endpoints": [
       {"ip": "10.244.1.20", "node": "node1", "workload": "web-a", "namespace": "default",
        "workload_name": "web", "ready": true},
       {"ip": "10.244.2.20", "node": "node2", "workload": "web-b", "ready": true},
       {"ip": "10.244.2.21", "node": "node2", "workload": "web-c", "ready": false}
     ]},
    {"name": "api", "namespace": "prod", "vips": ["10.96.0.11"],
     "ports": [{"port": 443, "target_port": 8443}], "load_balancer": "ROUND_ROBIN"}
  ],
  "authorization_policies": [
    {"name": "from-default", "namespace": "default",
     "rules": [{"from": [{"namespaces": ["default"]}], "to": [{"ports": [8080]}]}]}
  ]
})json";

}  // namespace weft::agent::config::testing
