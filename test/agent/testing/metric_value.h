#pragma once

// Reads one sample out of a prometheus registry, for asserting on metrics in tests.

#include <map>
#include <optional>
#include <string>

#include "prometheus/registry.h"

namespace weft::test {

// The first series of `name` whose labels include all of `labels`.
inline std::optional<prometheus::ClientMetric> findSeries(
    const prometheus::Registry& registry, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) {
      continue;
    }
    for (const auto& metric : family.metric) {
      size_t matched = 0;
      for (const auto& pair : metric.label) {
        auto it = labels.find(pair.name);
        if (it != labels.end() && it->second == pair.value) {
          ++matched;
        }
      }
      if (matched == labels.size()) {
        return metric;
      }
    }
  }
  return std::nullopt;
}

// The value of the counter `name` whose labels include all of `labels`; nullopt when no such
// series exists.
inline std::optional<double> counterValue(const prometheus::Registry& registry,
                                          const std::string& name,
                                          const std::map<std::string, std::string>& labels) {
  auto series = findSeries(registry, name, labels);
  return series ? std::optional(series->counter.value) : std::nullopt;
}

// The value of the gauge `name` (the first series whose labels include `labels`).
inline std::optional<double> gaugeValue(const prometheus::Registry& registry,
                                        const std::string& name,
                                        const std::map<std::string, std::string>& labels = {}) {
  auto series = findSeries(registry, name, labels);
  return series ? std::optional(series->gauge.value) : std::nullopt;
}

// The number of observations of the (unlabelled) histogram `name`.
inline std::optional<uint64_t> histogramCount(const prometheus::Registry& registry,
                                              const std::string& name) {
  auto series = findSeries(registry, name, {});
  return series ? std::optional(series->histogram.sample_count) : std::nullopt;
}

}  // namespace weft::test
