// The default detector: needs no per-series configuration.
#ifndef BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_
#define BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_

#include <memory>

#include "backsight/detect/detector.h"

namespace backsight::detect {

/// Options of the default detector. The defaults are the product's defaults; nothing here is meant
/// to be tuned per series.
struct DefaultDetectorOptions {
  /// Number of accepted samples before results leave warm-up (scores are still computed).
  int warmup_samples = 150;
};

/// Creates the default detector (see default_detector.cc for the method and its sources).
std::unique_ptr<Detector> MakeDefaultDetector(const DefaultDetectorOptions& options = {});

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_DEFAULT_DETECTOR_H_
