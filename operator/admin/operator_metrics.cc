#include "operator/admin/operator_metrics.h"

namespace weft::op {
namespace {

// A push is answered within milliseconds on a healthy network; seconds mean an agent that
// is struggling (a huge config to validate, a stalled connection).
const prometheus::Histogram::BucketBoundaries kPushBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
// Translation of a small cluster takes microseconds; 10,000 services, tens of milliseconds.
const prometheus::Histogram::BucketBoundaries kTranslationBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

// A label value stays readable in a dashboard; the whole reason is in /debug/agents.
constexpr size_t kMaxReasonBytes = 256;

// The longest prefix of valid UTF-8 `text` of at most `max` bytes that ends on a character.
std::string utf8Prefix(const std::string& text, size_t max) {
  if (text.size() <= max) {
    return text;
  }
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;  // text[end] continues a character: cut before that character starts
  }
  return text.substr(0, end) + "…";
}

}  // namespace

OperatorMetrics::OperatorMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  connected_agents_ = &prometheus::BuildGauge()
                           .Name("weft_operator_connected_agents")
                           .Help("Agents with an open, authenticated config stream.")
                           .Register(r)
                           .Add({});
  pushes_ = &prometheus::BuildCounter()
                 .Name("weft_operator_pushes_total")
                 .Help("Config stream responses sent, by resource type they carried.")
                 .Register(r);
  push_duration_ = &prometheus::BuildHistogram()
                        .Name("weft_operator_push_duration_seconds")
                        .Help("From sending a config response to the agent's ACK.")
                        .Register(r)
                        .Add({}, kPushBuckets);
  nacks_ = &prometheus::BuildCounter()
                .Name("weft_operator_nacks_total")
                .Help("Config responses an agent rejected, by node and resource type.")
                .Register(r);
  push_bytes_ = &prometheus::BuildCounter()
                     .Name("weft_operator_push_bytes_total")
                     .Help("Bytes of config stream responses sent (serialized protobuf).")
                     .Register(r)
                     .Add({});
  push_resources_ =
      &prometheus::BuildCounter()
           .Name("weft_operator_push_resources_total")
           .Help("Resources sent in config stream responses (added, changed or removed), by type.")
           .Register(r);
  nack_info_ = &prometheus::BuildGauge()
                    .Name("weft_operator_agent_nack_info")
                    .Help(
                        "1 for each node whose agent rejected its last config response, with the "
                        "version and the reason; gone once it accepts a later one.")
                    .Register(r);
  translation_duration_ = &prometheus::BuildHistogram()
                               .Name("weft_operator_translation_duration_seconds")
                               .Help("Time to translate a source snapshot into node configs.")
                               .Register(r)
                               .Add({}, kTranslationBuckets);
  source_errors_ = &prometheus::BuildCounter()
                        .Name("weft_operator_source_errors_total")
                        .Help(
                            "Source rebuilds that failed (bad input, failed watch); the last "
                            "good snapshot stays in use.")
                        .Register(r)
                        .Add({});
}

void OperatorMetrics::countPush(absl::string_view type) {
  pushes_->Add({{"type", std::string(type)}}).Increment();
}

void OperatorMetrics::countNack(const std::string& node, const std::string& type) {
  nacks_->Add({{"node", node}, {"type", type}}).Increment();
}

void OperatorMetrics::countPushed(size_t bytes, absl::string_view type, size_t resources) {
  push_bytes_->Increment(static_cast<double>(bytes));
  push_resources_->Add({{"type", std::string(type)}}).Increment(static_cast<double>(resources));
}

void OperatorMetrics::setLastNack(const std::string& node, const std::string& config_version,
                                  const std::string& reason) {
  std::lock_guard lock(nack_info_mu_);
  clearLastNackLocked(node);
  nack_info_by_node_[node] = &nack_info_->Add({{"node", node},
                                               {"config_version", config_version},
                                               {"reason", utf8Prefix(reason, kMaxReasonBytes)}});
  nack_info_by_node_[node]->Set(1);
}

void OperatorMetrics::clearLastNack(const std::string& node) {
  std::lock_guard lock(nack_info_mu_);
  clearLastNackLocked(node);
}

void OperatorMetrics::clearLastNackLocked(const std::string& node) {
  auto it = nack_info_by_node_.find(node);
  if (it != nack_info_by_node_.end()) {
    nack_info_->Remove(it->second);
    nack_info_by_node_.erase(it);
  }
}

}  // namespace weft::op
