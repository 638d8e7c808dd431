#include "operator/model/workload_name.h"

#include <catch2/catch.hpp>

namespace weft::op {
namespace {

TEST_CASE("a Deployment's pod is named after the Deployment, not its ReplicaSet") {
  CHECK(workloadNameOf("web-6c9f8b7d5-x2x4k", {{"ReplicaSet", "web-6c9f8b7d5", true}},
                       {{"pod-template-hash", "6c9f8b7d5"}}) == "web");
}

TEST_CASE("a ReplicaSet without the pod-template-hash suffix names itself") {
  CHECK(workloadNameOf("rs-abc", {{"ReplicaSet", "standalone-rs", true}}, {}) == "standalone-rs");
  CHECK(workloadNameOf("rs-abc", {{"ReplicaSet", "web-123", true}},
                       {{"pod-template-hash", "999"}}) == "web-123");
}

TEST_CASE("a CronJob's pod is named after the CronJob") {
  CHECK(workloadNameOf("backup-28391234-abcde", {{"Job", "backup-28391234", true}}, {}) ==
        "backup");
  CHECK(workloadNameOf("migrate-x", {{"Job", "migrate-1", true}}, {}) == "migrate-1");
}

TEST_CASE("other controllers name the workload; without a controller the pod does") {
  CHECK(workloadNameOf("db-0", {{"StatefulSet", "db", true}}, {}) == "db");
  CHECK(workloadNameOf("db-0", {{"StatefulSet", "db", false}}, {}) == "db-0");
  CHECK(workloadNameOf("lonely", {}, {}) == "lonely");
}

}  // namespace
}  // namespace weft::op
