// Groups consecutive anomalous results of one series into intervals, fed one result at a time.
#ifndef BACKSIGHT_OUTPUTS_ANOMALY_INTERVALS_H_
#define BACKSIGHT_OUTPUTS_ANOMALY_INTERVALS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backsight/core/time.h"

namespace backsight::outputs {

/// A run of consecutive scored rows that all have is_anomaly = true.
struct AnomalyInterval {
  TimestampNs start_ns = 0;  ///< timestamp of the first anomalous row
  TimestampNs end_ns = 0;    ///< timestamp of the last anomalous row (inclusive)
  double peak_score = 0;     ///< largest anomaly_score in the run
  TimestampNs peak_ns = 0;   ///< timestamp of the (first) row with peak_score
  uint64_t rows = 0;         ///< number of rows in the run
};

/// Streaming grouping: call Add for every scored row in time order; a non-anomalous row closes
/// the open interval. Rows the detector rejected are not scored and must not be fed (they neither
/// extend nor close an interval). Memory: one AnomalyInterval per closed interval.
class AnomalyIntervalTracker {
 public:
  /// Feeds one scored row: timestamp (ns), its anomaly_score and is_anomaly decision.
  void Add(TimestampNs ts, double anomaly_score, bool is_anomaly);
  /// Closes the open interval, if any. Further Add calls start new intervals.
  void Finish();
  /// Closed intervals in time order (call Finish first to include a run still open at the end).
  const std::vector<AnomalyInterval>& intervals() const { return intervals_; }
  /// Total anomalous rows fed so far (open interval included).
  uint64_t anomalous_rows() const { return anomalous_rows_; }
  /// True while an interval is open.
  bool open() const { return open_; }

 private:
  std::vector<AnomalyInterval> intervals_;
  AnomalyInterval current_;
  bool open_ = false;
  uint64_t anomalous_rows_ = 0;
};

/// The `n` intervals with the highest peak_score, highest first (equal peaks: earlier first).
/// O(k log n) for k intervals.
std::vector<AnomalyInterval> TopIntervalsByPeak(const std::vector<AnomalyInterval>& intervals,
                                                size_t n);

}  // namespace backsight::outputs

#endif  // BACKSIGHT_OUTPUTS_ANOMALY_INTERVALS_H_
