#include "backsight/security/population.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace backsight::security {
namespace {

// Consistency constants for the normal distribution: MAD * 1.4826 and mean absolute deviation *
// sqrt(pi/2) = 1.2533 estimate sigma (Iglewicz & Hoaglin 1993).
constexpr double kMadToSigma = 1.4826;
constexpr double kMeanAdToSigma = 1.2533;

double Median(std::vector<double>* v) {
  if (v->empty()) return 0;
  const size_t mid = v->size() / 2;
  std::nth_element(v->begin(), v->begin() + mid, v->end());
  double m = (*v)[mid];
  if (v->size() % 2 == 0) {
    m = (m + *std::max_element(v->begin(), v->begin() + mid)) / 2;
  }
  return m;
}

}  // namespace

void Reservoir::Add(double v) {
  ++seen_;
  if (values_.size() < capacity_) {
    values_.push_back(v);
    return;
  }
  std::uniform_int_distribution<uint64_t> pick(0, seen_ - 1);
  const uint64_t j = pick(rng_);
  if (j < capacity_) values_[j] = v;
}

double Fence::Z(double v) const {
  if (log_scale <= 0) return v > threshold ? std::numeric_limits<double>::infinity() : 0;
  return (std::log1p(v) - log_median) / log_scale;
}

Fence RobustFence(std::vector<double> values) {
  Fence f;
  if (values.empty()) {
    f.threshold = std::numeric_limits<double>::infinity();
    return f;
  }
  for (double& v : values) v = std::log1p(std::max(0.0, v));
  const double m = Median(&values);
  double mean_ad = 0;
  std::vector<double> dev(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    dev[i] = std::fabs(values[i] - m);
    mean_ad += dev[i];
  }
  mean_ad /= static_cast<double>(values.size());
  // Counts are integers: a spread below one count at the median is not resolved, so the scale is
  // at least the log1p step from the median to the next count.
  const double step = std::log1p(std::expm1(m) + 1) - m;
  const double scale = std::max({kMadToSigma * Median(&dev), kMeanAdToSigma * mean_ad, step});
  f.log_median = m;
  f.log_scale = scale;
  f.median = std::expm1(m);
  f.threshold = std::expm1(m + kOutlierZ * scale);
  return f;
}

double PoissonTail(double k, double lambda) {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  // 1 - sum_{i<k} e^-l l^i / i!, summed in log space for large lambda.
  const int kk = static_cast<int>(std::ceil(k));
  double term = std::exp(-lambda), cdf = 0;
  for (int i = 0; i < kk; ++i) {
    if (i > 0) term *= lambda / i;
    cdf += term;
  }
  if (cdf >= 1) {
    // Underflow-safe upper tail: the first omitted term bounds it from below.
    double log_term = -lambda + kk * std::log(lambda) - std::lgamma(kk + 1.0);
    return std::exp(log_term);
  }
  return std::max(0.0, 1 - cdf);
}

double PoissonThreshold(double lambda, double alpha) {
  double k = std::max(1.0, std::floor(lambda));
  while (PoissonTail(k, lambda) >= alpha) k += 1;
  return k;
}

}  // namespace backsight::security
