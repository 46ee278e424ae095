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
  /// sample on; the envelopes need history before "never seen" means something). 500: of
  /// {100, 150, 200, 300, 400, 500} (bench/false_alarms --warmup N), 300 and shorter raise the
  /// false-alarm episodes per series-day by more than 10 % in some family, and 400, within 10 %
  /// over all rows, raises them by 9-20 % (200 seeds) in the first 500 rows after the warm-up,
  /// the time a new series is looked at; NAB scores the uncapped likelihood and does not move
  /// (README, "Default detector"). Saved with the state, so a restored detector keeps the
  /// warm-up it was created with.
  int warmup_samples = 500;
};

/// Creates the default detector (see default_detector.cc for the method and its sources).
std::unique_ptr<Detector> MakeDefaultDetector(const DefaultDetectorOptions& options = {});

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_
