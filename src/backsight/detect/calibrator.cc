#include "backsight/detect/calibrator.h"

#include <algorithm>
#include <cmath>

namespace backsight::detect {

namespace {
constexpr double kGlobalTolerance = 0.02;
constexpr double kLocalTolerance = 0.1;
constexpr double kLocalCeiling = 0.98;  // local likelihoods lie in [0.9702, kLocalCeiling)
constexpr double kTailScale = 0.01;     // 1 - likelihood = kTailScale * exp(-excess) (global)

double LocalLikelihood(double x) { return kLocalCeiling * (1 - kTailScale * std::exp(-x)); }

// Local excess at which the likelihood equals kLikelihoodAtScoreOne: solves
// kLocalCeiling * (1 - kTailScale e^-x) = kLikelihoodAtScoreOne.
double LocalExcessAtScoreOne() {
  static const double x1 = -std::log((1 - kLikelihoodAtScoreOne / kLocalCeiling) / kTailScale);
  return x1;
}

double ScoreBelowThreshold(double likelihood) {
  // No evidence (the common case): log(1) / log(...) is -0, returned as +0 below; skip the logs.
  if (likelihood == 0) return 0.0;
  const double tail = std::max(1.0 - likelihood, 1e-300);
  const double s = std::log(tail) / std::log(1.0 - kLikelihoodAtScoreOne);
  if (!(s > 0)) return 0.0;  // also turns -0 (log(1) / negative) into +0
  return std::min(s, 1.0);
}
}  // namespace

double NoveltyLikelihood(const NoveltyEvidence& e) {
  double l = 0;
  if (e.local_excess > kLocalTolerance) l = std::max(l, LocalLikelihood(e.local_excess));
  if (e.global_excess > kGlobalTolerance) {
    l = std::max(l, 1 - kTailScale * std::exp(-e.global_excess));
  }
  return l;
}

double AnomalyScore(const NoveltyEvidence& e) {
  if (e.global_excess > kGlobalTolerance) return 2.0 + std::log(e.global_excess / kGlobalTolerance);
  return AnomalyScore(e, NoveltyLikelihood(e));
}

double AnomalyScore(const NoveltyEvidence& e, double l) {
  if (e.global_excess > kGlobalTolerance) return 2.0 + std::log(e.global_excess / kGlobalTolerance);
  if (!(l > kLikelihoodAtScoreOne)) return ScoreBelowThreshold(l);
  const double x = std::max(e.local_excess, e.drift);
  const double t = std::max(0.0, std::log(x / LocalExcessAtScoreOne()));
  return 1.0 + t / (1.0 + t);
}

}  // namespace backsight::detect
