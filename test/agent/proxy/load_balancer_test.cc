#include "agent/proxy/load_balancer.h"

#include <catch2/catch.hpp>
#include <deque>
#include <vector>

namespace weft::agent::proxy {
namespace {

using common::IpAddress;
using common::SocketAddress;

// Returns scripted values (each taken modulo the bound) so a test decides the two P2C
// candidates.
class ScriptedRandom : public Random {
 public:
  explicit ScriptedRandom(std::deque<uint64_t> values) : values_(std::move(values)) {}
  uint64_t below(uint64_t bound) override {
    REQUIRE_FALSE(values_.empty());
    const uint64_t v = values_.front();
    values_.pop_front();
    return v % bound;
  }

 private:
  std::deque<uint64_t> values_;
};

config::ServiceTarget targetWith(size_t endpoints, config::LoadBalancerPolicy policy) {
  config::ServiceTarget target;
  target.load_balancer = policy;
  for (size_t i = 0; i < endpoints; ++i) {
    const std::string ip = "10.244.1." + std::to_string(10 + i);
    config::EndpointInfo endpoint;
    endpoint.address = {*IpAddress::Parse(ip), 8080};
    target.endpoints.push_back(endpoint);
  }
  return target;
}

const SocketAddress kVip{*IpAddress::Parse("10.96.0.10"), 80};

TEST_CASE("P2C picks the less loaded of its two candidates") {
  const std::vector<uint32_t> active = {5, 1, 9};
  auto load = [&](size_t i) { return active[i]; };
  ScriptedRandom random({0, 0, 2, 0});  // candidates (0, 1), then (2, 0)
  CHECK(pickLeastConnections(3, load, std::nullopt, random) == 1u);
  CHECK(pickLeastConnections(3, load, std::nullopt, random) == 0u);
}

TEST_CASE("P2C always draws two distinct candidates") {
  const std::vector<uint32_t> active = {3, 0};
  ScriptedRandom random({0, 0, 1, 0, 1, 1});
  // Whatever the draws, the two candidates differ, so the idle endpoint always wins.
  for (int i = 0; i < 3; ++i) {
    CHECK(pickLeastConnections(
              2, [&](size_t i) { return active[i]; }, std::nullopt, random) == 1u);
  }
}

TEST_CASE("P2C never picks the excluded endpoint and gives up when nothing is left") {
  DefaultRandom random;
  auto idle = [](size_t) { return 0u; };
  for (int i = 0; i < 200; ++i) {
    const auto pick = pickLeastConnections(3, idle, 1, random);
    REQUIRE(pick.has_value());
    CHECK(*pick != 1u);
  }
  CHECK(pickLeastConnections(1, idle, 0, random) == std::nullopt);
  CHECK(pickLeastConnections(0, idle, std::nullopt, random) == std::nullopt);
  CHECK(pickLeastConnections(2, idle, 0, random) == 1u);
  CHECK(pickLeastConnections(1, idle, 7, random) == 0u);  // out of range excludes nothing
}

TEST_CASE("P2C spreads idle-equal load evenly") {
  DefaultRandom random;
  std::vector<int> hits(4, 0);
  for (int i = 0; i < 40'000; ++i) {
    ++hits[*pickLeastConnections(
        4, [](size_t) { return 0u; }, std::nullopt, random)];
  }
  for (int h : hits) {
    CHECK(h > 9'000);  // 10,000 expected each; ±10% is more than 10 standard deviations
    CHECK(h < 11'000);
  }
}

TEST_CASE("P2C steers new connections away from a loaded endpoint") {
  DefaultRandom random;
  const std::vector<uint32_t> active = {50, 0, 0, 0};
  int loaded = 0;
  for (int i = 0; i < 10'000; ++i) {
    if (*pickLeastConnections(
            4, [&](size_t i) { return active[i]; }, std::nullopt, random) == 0) {
      ++loaded;
    }
  }
  CHECK(loaded == 0);  // it loses every comparison it takes part in
}

TEST_CASE("round robin cycles through every endpoint in order, skipping the excluded one") {
  uint64_t cursor = 0;
  std::vector<size_t> picks;
  for (int i = 0; i < 6; ++i) {
    picks.push_back(*pickRoundRobin(3, std::nullopt, cursor));
  }
  CHECK(picks == std::vector<size_t>{0, 1, 2, 0, 1, 2});
  cursor = 1;
  CHECK(pickRoundRobin(3, 1, cursor) == 2u);
  CHECK(pickRoundRobin(1, 0, cursor) == std::nullopt);
  CHECK(pickRoundRobin(0, std::nullopt, cursor) == std::nullopt);
}

TEST_CASE("the worker load balancer counts active connections per endpoint") {
  LoadBalancer lb(std::make_unique<DefaultRandom>());
  const auto target = targetWith(2, config::LoadBalancerPolicy::kLeastConnections);
  const SocketAddress& a = target.endpoints[0].address;
  {
    ActiveConnection first(lb, a);
    ActiveConnection second(lb, a);
    CHECK(lb.activeConnections(a) == 2);
    // With two endpoints P2C compares both, so the idle one wins every time.
    for (int i = 0; i < 20; ++i) {
      CHECK(lb.pick(target, kVip) == 1u);
    }
    second.release();
    CHECK(lb.activeConnections(a) == 1);
  }
  CHECK(lb.activeConnections(a) == 0);
}

TEST_CASE("the worker load balancer keeps a round-robin cursor per service address") {
  LoadBalancer lb(std::make_unique<DefaultRandom>());
  const auto target = targetWith(3, config::LoadBalancerPolicy::kRoundRobin);
  const SocketAddress other{*IpAddress::Parse("10.96.0.11"), 80};
  CHECK(lb.pick(target, kVip) == 0u);
  CHECK(lb.pick(target, kVip) == 1u);
  CHECK(lb.pick(target, other) == 0u);
  CHECK(lb.pick(target, kVip) == 2u);
  CHECK(lb.pick(target, kVip, 0) == 1u);
}

}  // namespace
}  // namespace weft::agent::proxy
