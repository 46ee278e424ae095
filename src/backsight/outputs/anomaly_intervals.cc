#include "backsight/outputs/anomaly_intervals.h"

namespace backsight::outputs {

void AnomalyIntervalTracker::Add(TimestampNs ts, double anomaly_score, bool is_anomaly) {
  if (!is_anomaly) {
    Finish();
    return;
  }
  ++anomalous_rows_;
  if (!open_) {
    current_ = AnomalyInterval{ts, ts, anomaly_score, ts, 1};
    open_ = true;
    return;
  }
  current_.end_ns = ts;
  ++current_.rows;
  if (anomaly_score > current_.peak_score) {
    current_.peak_score = anomaly_score;
    current_.peak_ns = ts;
  }
}

void AnomalyIntervalTracker::Finish() {
  if (!open_) return;
  intervals_.push_back(current_);
  open_ = false;
}

}  // namespace backsight::outputs
