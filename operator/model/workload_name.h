#pragma once

// The workload a pod belongs to, for metrics and endpoint labels: the Deployment behind a
// ReplicaSet, the CronJob behind a Job, else the controlling owner, else the pod itself.

#include <string>
#include <vector>

#include "operator/model/objects.h"

namespace weft::op {

struct OwnerReference {
  std::string kind;
  std::string name;
  bool controller = false;
};

// Istio's heuristic (GetDeployMetaFromPod): the controller reference names the workload;
// a ReplicaSet named "<deployment>-<pod-template-hash>" names its Deployment, a Job named
// "<cronjob>-<8 to 10 digits>" its CronJob. Unlike Istio, a pod need not have a
// generateName: hand-written pods in a directory rarely do, and an owner is an owner.
std::string workloadNameOf(const std::string& pod_name, const std::vector<OwnerReference>& owners,
                           const Labels& pod_labels);

}  // namespace weft::op
