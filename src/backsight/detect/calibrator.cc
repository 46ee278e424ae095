#include "backsight/detect/calibrator.h"

#include <algorithm>
#include <cmath>

namespace backsight::detect {

namespace {
constexpr double kGlobalTolerance = 0.02;
constexpr double kLocalTolerance = 0.1;
}  // namespace

double NoveltyLikelihood(const NoveltyEvidence& e) {
  double l = 0;
  if (e.local_excess > kLocalTolerance) {
    l = std::max(l, 0.98 * (1 - 0.01 * std::exp(-e.local_excess)));
  }
  if (e.global_excess > kGlobalTolerance) {
    l = std::max(l, 1 - 0.01 * std::exp(-e.global_excess));
  }
  return l;
}

double AnomalyScoreFromLikelihood(double likelihood) {
  const double tail = std::max(1.0 - likelihood, 1e-300);
  const double s = std::log(tail) / std::log(1.0 - kLikelihoodAtScoreOne);
  if (!(s > 0)) return 0.0;  // also turns -0 (log(1) / negative) into +0
  return std::min(s, 20.0);
}

}  // namespace backsight::detect
