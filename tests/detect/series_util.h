// Synthetic series for detector tests: Gaussian noise around a mean, fed one sample per minute.
#ifndef BACKSIGHT_TESTS_DETECT_SERIES_UTIL_H_
#define BACKSIGHT_TESTS_DETECT_SERIES_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "backsight/core/time.h"
#include "backsight/detect/detector.h"

namespace backsight::detect::testing {

/// Step between fed samples: one minute, in nanoseconds.
constexpr int64_t kStep = 60 * kNanosPerSecond;

/// `n` values mean + N(0, 1), reproducible from `seed`.
inline std::vector<double> Noise(int n, uint32_t seed, double mean) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> v(n);
  for (double& x : v) x = mean + g(rng);
  return v;
}

/// Feeds v[i] at time i * kStep; every update must be accepted. Returns the results in order.
inline std::vector<DetectionResult> Feed(Detector* d, const std::vector<double>& v) {
  std::vector<DetectionResult> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_TRUE(d->Update(static_cast<int64_t>(i) * kStep, v[i], &out[i]).ok()) << i;
  }
  return out;
}

}  // namespace backsight::detect::testing

#endif  // BACKSIGHT_TESTS_DETECT_SERIES_UTIL_H_
