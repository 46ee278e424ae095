// Population statistics of clients: the thresholds of `backsight security` come from the site's
// own clients (robust z over a bounded reservoir, Poisson tails), never from per-rule constants.
#ifndef BACKSIGHT_SECURITY_POPULATION_H_
#define BACKSIGHT_SECURITY_POPULATION_H_

#include <cstdint>
#include <random>
#include <vector>

namespace backsight::security {

/// Cut-off of the modified z-score, Iglewicz & Hoaglin, "How to Detect and Handle Outliers"
/// (ASQC 1993): |z| > 3.5 is an outlier.
inline constexpr double kOutlierZ = 3.5;
/// Family-wise false-alarm rate of the Poisson tests, split over the clients (or buckets)
/// judged by the Bonferroni correction (one false alarm per 100 runs over a whole log).
inline constexpr double kFamilyAlpha = 0.01;

/// A bounded uniform sample of one per-client feature (Vitter 1985, "Random sampling with a
/// reservoir", algorithm R); deterministic (fixed seed), so a run is reproducible.
class Reservoir {
 public:
  /// At most `capacity` values are kept; memory is O(capacity).
  explicit Reservoir(size_t capacity = 8192) : capacity_(capacity) {}
  void Add(double v);
  uint64_t seen() const { return seen_; }
  const std::vector<double>& values() const { return values_; }

 private:
  size_t capacity_;
  uint64_t seen_ = 0;
  std::vector<double> values_;
  std::mt19937_64 rng_{0x5eed};
};

/// Robust outlier fence of a skewed count feature, judged in log1p space: median + kOutlierZ *
/// scale, scale = max(1.4826 MAD, 1.2533 mean absolute deviation) (the mean-deviation fallback
/// when more than half the values are equal is Iglewicz & Hoaglin's), and at least one count's
/// step at the median (counts are integers). Returns the fence as a
/// count (expm1 of the log fence) and the scale; +inf when `values` is empty.
struct Fence {
  double median = 0;      // counts
  double threshold = 0;   // counts; a value above it is an outlier
  double log_median = 0;  // log1p space
  double log_scale = 0;   // log1p space
  /// Modified z-score of `v` (log1p space); 0 when the scale is 0.
  double Z(double v) const;
};
Fence RobustFence(std::vector<double> values);

/// P(X >= k) for X ~ Poisson(lambda), k >= 0; 1 for k <= 0.
double PoissonTail(double k, double lambda);

/// Smallest k with PoissonTail(k, lambda) < alpha (a count far above a Poisson rate `lambda`).
double PoissonThreshold(double lambda, double alpha);

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_POPULATION_H_
