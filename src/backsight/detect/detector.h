// Streaming per-series anomaly detection: the interface every detector implements.
//
// A detector watches one series. Samples are fed one at a time in time order; each call returns
// that sample's result at once (no look-ahead). Work per sample is O(1) amortised and memory is
// bounded.
//
// Results follow Merlion's three steps, kept apart:
//   model (raw score, expected value) -> calibrator (anomaly_score, likelihood) -> threshold rule
//   (is_anomaly).
#ifndef BACKSIGHT_DETECT_DETECTOR_H_
#define BACKSIGHT_DETECT_DETECTOR_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::detect {

/// The result for one accepted sample.
struct DetectionResult {
  /// Model output before calibration; >= 0, unitless, scale specific to the model.
  double raw_score = 0;
  /// Calibrated score >= 0: 0 typical, > 1 anomalous (the vmanomaly convention).
  double anomaly_score = 0;
  /// Probability-like score in [0, 1], monotone in anomaly_score; what NAB result files carry.
  double likelihood = 0;
  /// Decision of the threshold rule (anomaly_score > 1, after warm-up).
  bool is_anomaly = false;
  /// True while the detector is still learning (results are not meaningful yet).
  bool warming_up = true;
  /// Expected value and its band, in the series' own units; NaN while unknown.
  double yhat = std::numeric_limits<double>::quiet_NaN();
  double yhat_lower = std::numeric_limits<double>::quiet_NaN();
  double yhat_upper = std::numeric_limits<double>::quiet_NaN();
};

/// Why a sample is refused: the Reason of a failed Update (Status::reason()), in the order of
/// DetectorStats::rejected. Refused samples leave the state untouched and are counted.
inline constexpr Reason kRejectReasons[] = {
    Reason::kNotFinite,           // NaN or +-inf value
    Reason::kDuplicateTimestamp,  // same timestamp as the previous accepted sample
    Reason::kOutOfOrder,          // timestamp earlier than the previous accepted sample
};
inline constexpr int kRejectReasonCount = 3;

/// Index of `r` in kRejectReasons (and DetectorStats::rejected), or -1 if `r` is not one.
constexpr int RejectIndex(Reason r) {
  for (int i = 0; i < kRejectReasonCount; ++i) {
    if (kRejectReasons[i] == r) return i;
  }
  return -1;
}

/// Counters kept by every detector.
struct DetectorStats {
  uint64_t accepted = 0;
  /// Refused samples per reason, indexed by RejectIndex (saved in this order).
  uint64_t rejected[kRejectReasonCount] = {};
  /// Gaps: accepted samples that arrived more than 1.5 typical steps after the previous one.
  uint64_t gaps = 0;
};

/// A streaming detector for one series. Not thread-safe; one instance per series.
/// Copy is disabled (state can be large and identity matters); move is allowed.
class Detector {
 public:
  Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;
  virtual ~Detector() = default;

  /// Feeds one sample: `ts` in ns since the epoch, `value` in the series' units.
  /// On success fills `*result` and returns OK. Returns InvalidArgument with reason kNotFinite
  /// for a NaN/inf value and OutOfRange with kDuplicateTimestamp or kOutOfOrder for a timestamp
  /// equal to or before the previous accepted one; then the state is unchanged, the reason is
  /// counted in stats().rejected[RejectIndex(reason)], and `*result` is not written.
  virtual Status Update(TimestampNs ts, double value, DetectionResult* result) = 0;

  /// Appends the complete state (configuration included) to `*out`. Restoring it into a fresh
  /// detector of the same type yields bit-identical results for any later input.
  virtual void SaveState(std::string* out) const = 0;

  /// Replaces the state with one produced by SaveState. Returns Corruption (with byte offset and
  /// field) for truncated, foreign or inconsistent bytes; then the detector is left unchanged.
  virtual Status RestoreState(std::string_view in) = 0;

  /// Counters since creation (part of the saved state).
  virtual const DetectorStats& stats() const = 0;

  /// Accepted samples before is_anomaly can be true (this instance's, restored with its state);
  /// 0 for a detector without a warm-up.
  virtual uint64_t warmup_samples() const { return 0; }

  /// Short name of the algorithm, e.g. "default".
  virtual std::string_view name() const = 0;
};

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_DETECTOR_H_
