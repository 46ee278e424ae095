// PLACEHOLDER (being replaced): exponentially weighted mean/deviation z-score.
#include "backsight/detect/default_detector.h"

#include <cmath>

#include "backsight/core/byte_io.h"

namespace backsight::detect {
namespace {

class DefaultDetector final : public Detector {
 public:
  explicit DefaultDetector(const DefaultDetectorOptions& o) : opt_(o) {}

  Status Update(TimestampNs ts, double value, DetectionResult* r) override {
    if (!std::isfinite(value)) {
      ++stats_.rejected[static_cast<int>(RejectReason::kNonFiniteValue)];
      return Status::InvalidArgument("non-finite value");
    }
    if (stats_.accepted > 0 && ts <= last_ts_) {
      RejectReason why = ts == last_ts_ ? RejectReason::kDuplicateTimestamp : RejectReason::kOutOfOrder;
      ++stats_.rejected[static_cast<int>(why)];
      return Status::OutOfRange(RejectReasonName(why));
    }
    if (stats_.accepted == 0) { mean_ = value; dev_ = 0; }
    double scale = dev_ > 1e-12 ? dev_ : 1e-12;
    double z = std::fabs(value - mean_) / scale;
    r->raw_score = z;
    r->anomaly_score = z / 4.0;
    r->likelihood = 1.0 - std::exp(-r->anomaly_score);
    r->warming_up = static_cast<int>(stats_.accepted) < opt_.warmup_samples;
    r->is_anomaly = !r->warming_up && r->anomaly_score > 1.0;
    r->yhat = mean_;
    r->yhat_lower = mean_ - 4 * scale;
    r->yhat_upper = mean_ + 4 * scale;
    const double a = 0.02;
    dev_ = (1 - a) * dev_ + a * std::fabs(value - mean_);
    mean_ = (1 - a) * mean_ + a * value;
    last_ts_ = ts;
    ++stats_.accepted;
    return Status::OK();
  }
  void SaveState(std::string* out) const override {
    ByteWriter w(out);
    w.PutI64(last_ts_); w.PutDouble(mean_); w.PutDouble(dev_); w.PutU64(stats_.accepted);
  }
  Status RestoreState(std::string_view in) override {
    ByteReader rd(in);
    int64_t ts; double m, d; uint64_t acc;
    BACKSIGHT_RETURN_IF_ERROR(rd.GetI64(&ts, "last_ts"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&m, "mean"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&d, "dev"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU64(&acc, "accepted"));
    last_ts_ = ts; mean_ = m; dev_ = d; stats_.accepted = acc;
    return Status::OK();
  }
  const DetectorStats& stats() const override { return stats_; }
  std::string_view name() const override { return "default"; }

 private:
  DefaultDetectorOptions opt_;
  DetectorStats stats_;
  TimestampNs last_ts_ = 0;
  double mean_ = 0, dev_ = 0;
};

}  // namespace

std::unique_ptr<Detector> MakeDefaultDetector(const DefaultDetectorOptions& options) {
  return std::make_unique<DefaultDetector>(options);
}

}  // namespace backsight::detect
