#pragma once

// What the agent holds for one workload identity (WorkloadIdentities::held()), apart so the
// admin server can show it without linking the signing client.

#include <string>

#include "absl/time/time.h"

namespace weft::agent::identity {

struct HeldCertificate {
  std::string identity;  // the SPIFFE ID
  bool issued = false;   // an SVID is in the store (false while the first signing fails)
  absl::Time not_before;
  absl::Time not_after;
  std::string serial;       // hex, as `openssl x509 -serial` prints it
  absl::Time next_attempt;  // the renewal, or the next retry after a failure
  int failures = 0;         // signing attempts failed in a row
  std::string last_error;   // of the last failed attempt; empty after a success
};

}  // namespace weft::agent::identity
