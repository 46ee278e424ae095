// The default detector: needs no per-series configuration.
#ifndef BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_
#define BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_

#include <memory>

#include "backsight/detect/detector.h"

namespace backsight::detect {

/// Options of the default detector. The defaults are the product's defaults; nothing here is meant
/// to be tuned per series.
struct DefaultDetectorOptions {
  /// Number of accepted samples before is_anomaly can be true (scores are computed from the first
  /// sample on; the envelopes need history before "never seen" means something). 400: the
  /// shortest of {100, 150, 200, 300, 400, 500} whose false-alarm episodes per series-day
  /// (bench/false_alarms) stay within 10 % of 500's in every family; NAB scores the uncapped
  /// likelihood and does not move (README, "Default detector"). Saved with the state, so a
  /// restored detector keeps the warm-up it was created with.
  int warmup_samples = 400;
};

/// Creates the default detector (see default_detector.cc for the method and its sources).
std::unique_ptr<Detector> MakeDefaultDetector(const DefaultDetectorOptions& options = {});

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_
