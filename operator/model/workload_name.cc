#include "operator/model/workload_name.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace weft::op {

namespace {

// "<name>-<suffix>" → "<name>", when `suffix` is non-empty and the result is not empty.
std::string stripDashSuffix(const std::string& name, absl::string_view suffix) {
  if (suffix.empty() || name.size() <= suffix.size() + 1 || !absl::EndsWith(name, suffix) ||
      name[name.size() - suffix.size() - 1] != '-') {
    return name;
  }
  return name.substr(0, name.size() - suffix.size() - 1);
}

// A CronJob names its Jobs "<cronjob>-<scheduled time in minutes>", 8 to 10 digits.
std::string cronJobOf(const std::string& job) {
  const size_t dash = job.rfind('-');
  if (dash == std::string::npos || dash == 0) {
    return job;
  }
  const absl::string_view digits = absl::string_view(job).substr(dash + 1);
  if (digits.size() < 8 || digits.size() > 10) {
    return job;
  }
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return job;
    }
  }
  return job.substr(0, dash);
}

}  // namespace

std::string workloadNameOf(const std::string& pod_name, const std::vector<OwnerReference>& owners,
                           const Labels& pod_labels) {
  for (const OwnerReference& owner : owners) {
    if (!owner.controller) {
      continue;
    }
    if (owner.kind == "ReplicaSet") {
      auto hash = pod_labels.find("pod-template-hash");
      return stripDashSuffix(owner.name, hash == pod_labels.end() ? "" : hash->second);
    }
    if (owner.kind == "Job") {
      return cronJobOf(owner.name);
    }
    return owner.name;
  }
  return pod_name;
}

}  // namespace weft::op
