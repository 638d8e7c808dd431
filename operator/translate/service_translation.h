#pragma once

// One Service → its NodeConfig form: VIPs, ports with resolved target ports, endpoints.
// Endpoints come from the service's EndpointSlices when it has any (label
// kubernetes.io/service-name), else from the pods its selector matches, as Kubernetes'
// endpoints controller derives them (running pods with an IP; not-ready ones included and
// marked not ready).

#include <string>
#include <vector>

#include "operator/model/source_snapshot.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::op {

// A pod that has an address and has not terminated: a workload and a possible endpoint.
bool isRunning(const Pod& pod);

// Appends to `warnings` what had to be left out (e.g. a named targetPort no endpoint
// declares).
api::v1alpha1::Service translateService(const SourceSnapshot& snapshot, const Service& service,
                                        std::vector<std::string>& warnings);

}  // namespace weft::op
