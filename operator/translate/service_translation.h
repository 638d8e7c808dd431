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

// Enrolled: its namespace is labelled weft.io/mesh=enabled and the pod did not opt out
// (weft.io/mesh=disabled).
bool meshEnabled(const SourceSnapshot& snapshot, const Pod& pod);

// Namespace label that enrols its pods; a pod label with value "disabled" opts a pod out.
inline constexpr char kMeshLabel[] = "weft.io/mesh";

// Appends to `warnings` what had to be left out (e.g. a named targetPort no endpoint
// declares).
api::v1alpha1::Service translateService(const SourceSnapshot& snapshot, const Service& service,
                                        std::vector<std::string>& warnings);

}  // namespace weft::op
