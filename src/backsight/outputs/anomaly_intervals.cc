#include "backsight/outputs/anomaly_intervals.h"

#include <algorithm>

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

std::vector<AnomalyInterval> TopIntervalsByPeak(const std::vector<AnomalyInterval>& intervals,
                                                size_t n) {
  std::vector<AnomalyInterval> top = intervals;
  const auto higher = [](const AnomalyInterval& a, const AnomalyInterval& b) {
    if (a.peak_score != b.peak_score) return a.peak_score > b.peak_score;
    return a.start_ns < b.start_ns;
  };
  n = std::min(n, top.size());
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(), higher);
  top.resize(n);
  return top;
}

}  // namespace backsight::outputs
