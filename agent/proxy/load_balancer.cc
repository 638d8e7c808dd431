#include "agent/proxy/load_balancer.h"

namespace weft::agent::proxy {
namespace {

// Maps the k-th candidate onto an endpoint index, stepping over `excluded`.
size_t skipExcluded(size_t k, size_t excluded) {
  return k >= excluded ? k + 1 : k;
}

}  // namespace

std::optional<size_t> pickLeastConnections(size_t count, absl::FunctionRef<uint32_t(size_t)> active,
                                           std::optional<size_t> excluded, Random& random) {
  // An index past the end excludes nothing.
  const size_t skip = excluded.value_or(count) < count ? *excluded : count;
  const size_t candidates = skip < count ? count - 1 : count;
  if (candidates == 0) {
    return std::nullopt;
  }
  if (candidates == 1) {
    return skipExcluded(0, skip);
  }
  const size_t a = random.below(candidates);
  size_t b = random.below(candidates - 1);
  if (b >= a) {
    ++b;  // two distinct candidates
  }
  const size_t first = skipExcluded(a, skip);
  const size_t second = skipExcluded(b, skip);
  return active(second) < active(first) ? second : first;
}

std::optional<size_t> pickRoundRobin(size_t count, std::optional<size_t> excluded,
                                     uint64_t& cursor) {
  for (size_t tries = 0; tries < count; ++tries) {
    const size_t candidate = cursor++ % count;
    if (candidate != excluded) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<size_t> LoadBalancer::pick(const config::ServiceTarget& target,
                                         const common::SocketAddress& vip,
                                         std::optional<size_t> excluded) {
  const size_t count = target.endpoints.size();
  if (target.load_balancer == config::LoadBalancerPolicy::kRoundRobin) {
    return pickRoundRobin(count, excluded, cursors_[vip]);
  }
  return pickLeastConnections(
      count, [&](size_t i) { return activeConnections(target.endpoints[i].address); }, excluded,
      *random_);
}

void LoadBalancer::connectionFinished(const common::SocketAddress& endpoint) {
  auto it = active_.find(endpoint);
  if (it == active_.end()) {
    return;
  }
  if (--it->second == 0) {
    active_.erase(it);  // keeps the map bounded by the endpoints in use
  }
}

uint32_t LoadBalancer::activeConnections(const common::SocketAddress& endpoint) const {
  auto it = active_.find(endpoint);
  return it == active_.end() ? 0 : it->second;
}

}  // namespace weft::agent::proxy
