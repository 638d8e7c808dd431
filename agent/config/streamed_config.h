#pragma once

// The agent's half of the delta protocol (api/weft/v1alpha1/config_service.proto), pure:
// the resources it holds, a response applied to them, the result validated as a whole
// (buildSnapshot) before it replaces anything. A rejected response leaves the resources
// as they were, so the next response is diffed against the config still serving.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/config/config_snapshot.h"
#include "common/config/config_resources.h"
#include "weft/v1alpha1/config_service.pb.h"

namespace weft::agent::config {

class StreamedConfig {
 public:
  explicit StreamedConfig(std::string node_name);

  // The snapshot of the resources with `response` applied, which become the held ones; an
  // error (the NACK's message) when the response does not apply or the result is invalid.
  absl::StatusOr<ConfigSnapshotPtr> apply(const api::v1alpha1::ConfigResponse& response,
                                          absl::Time now);

  // The first request of a stream: the node and what is held, so an operator with the
  // same inputs has nothing to resend.
  api::v1alpha1::ConfigRequest initialRequest() const;

  const std::string& nodeName() const { return node_name_; }

 private:
  std::string node_name_;
  common::config::ResourceSet resources_;
};

// The answer to the response with `nonce`: an ACK when `applied` is OK, else a NACK with its
// message.
api::v1alpha1::ConfigRequest answer(const std::string& nonce, const absl::Status& applied);

}  // namespace weft::agent::config
