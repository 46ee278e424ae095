#include "backsight/server/metric_model.h"

#include <string>
#include <string_view>

#include "backsight/core/byte_io.h"
#include "backsight/detect/default_detector.h"
#include "backsight/ingest/counter_rate.h"

namespace backsight::server {
namespace {

// Version of the metric model state; version-1 series records are rewritten into this version
// (stream/engine.cc kV1MetricModelStateVersion), so a bump must keep reading 1.
constexpr uint8_t kMetricModelStateVersion = 1;
constexpr uint8_t kFlagCounter = 1;
constexpr std::string_view kTotalSuffix = "_total";

class MetricModel final : public stream::Model {
 public:
  explicit MetricModel(bool counter) : counter_(counter), det_(detect::MakeDefaultDetector()) {
    hot_state_ = det_.get();
  }

  Status Update(TimestampNs ts, double value, stream::ModelOutput* out) override {
    if (counter_ && !rate_.Update(ts, value, &value)) {
      out->scored = false;  // first reading, not newer, or non-finite: only (re)starts the rate
      return Status::OK();
    }
    BACKSIGHT_RETURN_IF_ERROR(det_->Update(ts, value, &out->result));
    out->scored = true;
    out->value = value;
    return Status::OK();
  }

  void SaveState(std::string* out) const override {
    ByteWriter w(out);
    w.PutU8(kMetricModelStateVersion);
    w.PutU8(counter_ ? kFlagCounter : 0);
    std::string det;
    det_->SaveState(&det);
    w.PutString(det);
    if (counter_) rate_.Save(&w);
  }

  Status RestoreState(std::string_view in) override {
    ByteReader r(in);
    uint8_t version, flags;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&version, "metric_model_version"));
    if (version != kMetricModelStateVersion) {
      return Status::Corruption("metric model state version " + std::to_string(version) +
                                " unknown (this build reads version " +
                                std::to_string(kMetricModelStateVersion) +
                                "); the series is skipped and learnt afresh");
    }
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&flags, "metric_model_flags"));
    std::string det_state;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&det_state, "detector_state"));
    auto det = detect::MakeDefaultDetector();
    BACKSIGHT_RETURN_IF_ERROR(det->RestoreState(det_state));
    const bool counter = flags & kFlagCounter;
    ingest::CounterRate rate;
    if (counter) BACKSIGHT_RETURN_IF_ERROR(rate.Load(&r));
    if (!r.done()) {
      return Status::Corruption("metric model state: " + std::to_string(r.remaining()) +
                                " trailing bytes at offset " + std::to_string(r.position()));
    }
    counter_ = counter;
    det_ = std::move(det);
    hot_state_ = det_.get();
    rate_ = rate;
    return Status::OK();
  }

  uint64_t accepted() const override { return det_->stats().accepted; }
  uint64_t rejected() const override {
    uint64_t n = 0;
    for (uint64_t r : det_->stats().rejected) n += r;
    return n;
  }
  uint64_t warmup_samples() const override { return det_->warmup_samples(); }
  bool input_is_rate() const override { return counter_; }
  TimestampNs held_until_ts() const override {
    return counter_ && rate_.primed() ? rate_.last_ts() : Model::held_until_ts();
  }

 private:
  bool counter_;
  std::unique_ptr<detect::Detector> det_;
  ingest::CounterRate rate_;  // used when counter_
};

class MetricModelFactory final : public stream::ModelFactory {
 public:
  explicit MetricModelFactory(bool counters_as_rates) : counters_as_rates_(counters_as_rates) {}
  std::unique_ptr<stream::Model> Create(const Labels& labels, MetricKind kind) const override {
    return std::make_unique<MetricModel>(counters_as_rates_ && IsCounter(labels, kind));
  }

 private:
  bool counters_as_rates_;
};

}  // namespace

bool IsCounter(const Labels& labels, MetricKind kind) {
  if (kind == MetricKind::kCounter) return true;
  const std::string_view name = GetLabel(labels, "__name__");
  return name.size() > kTotalSuffix.size() &&
         name.substr(name.size() - kTotalSuffix.size()) == kTotalSuffix;
}

std::shared_ptr<const stream::ModelFactory> MakeMetricModelFactory(bool counters_as_rates) {
  return std::make_shared<MetricModelFactory>(counters_as_rates);
}

}  // namespace backsight::server
