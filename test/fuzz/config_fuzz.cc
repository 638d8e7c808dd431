// Fuzzes the NodeConfig JSON parser and the validator behind it: any input must either be
// rejected with a status or produce a snapshot whose indexes agree with it.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/config/config_loader.h"
#include "agent/config/config_snapshot.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::agent::config;
  auto config = parseNodeConfigJson(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!config.ok()) {
    fuzzRequire(!config.status().message().empty());
    return 0;
  }
  auto snapshot = buildSnapshot(*config, "node1", absl::UnixEpoch());
  if (!snapshot.ok()) {
    fuzzRequire(!snapshot.status().message().empty());
    return 0;
  }
  const ConfigSnapshot& s = **snapshot;
  for (const auto& vip : s.serviceAddresses()) {
    const ServiceTarget* target = s.findService(vip);
    fuzzRequire(target != nullptr && target->port == vip.port && target->target_port != 0);
  }
  for (const auto& workload : s.workloads()) {
    fuzzRequire(s.findWorkload(workload.ip) == &workload);
    fuzzRequire(s.findWorkloadByUid(workload.uid) == &workload);
  }
  // What /config_dump prints must parse back to the same config.
  auto again = parseNodeConfigJson(nodeConfigToJson(s.config()));
  fuzzRequire(again.ok() && again->SerializeAsString() == s.config().SerializeAsString());
  return 0;
}
