// Robustness of the default detector to extreme finite values: one outlier is an anomaly, not a
// new normal, and no arithmetic overflows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backsight/detect/default_detector.h"
#include "series_util.h"

namespace backsight::detect {
namespace {

constexpr int kNormal =
    2500;  // warm-up (<= 500 samples), then >= 2,000 scored ones around 50, sigma 1
constexpr int kAfterSpike = 50;

using testing::Feed;
using testing::kStep;
using testing::Noise;

class ExtremeSpikeTest : public ::testing::TestWithParam<double> {};

// A series around 50, one extreme spike, ~50 normal samples, then a sustained shift to 80: the
// spike is an anomaly, not a new normal.
TEST_P(ExtremeSpikeTest, OneOutlierDoesNotBlindTheDetector) {
  const double spike = GetParam();
  std::vector<double> v = Noise(kNormal + 1 + kAfterSpike, 11, 50);
  v[kNormal] = spike;
  const std::vector<double> shifted = Noise(200, 12, 80);
  v.insert(v.end(), shifted.begin(), shifted.end());
  auto d = MakeDefaultDetector();
  const auto r = Feed(d.get(), v);
  for (size_t i = 0; i < r.size(); ++i) {
    ASSERT_TRUE(std::isfinite(r[i].anomaly_score)) << i;
    ASSERT_TRUE(std::isfinite(r[i].yhat)) << i;
    ASSERT_TRUE(std::isfinite(r[i].yhat_lower) && std::isfinite(r[i].yhat_upper)) << i;
  }
  EXPECT_TRUE(r[kNormal].is_anomaly);
  EXPECT_GT(r[kNormal].anomaly_score, 1.0);
  // yhat hardly moves: the spike is one clipped residual for the level.
  for (int i = kNormal + 1; i <= kNormal + kAfterSpike; ++i) {
    ASSERT_NEAR(r[i].yhat, 50.0, 1.5) << "sample " << i - kNormal << " after the spike";
  }
  // The shift to 80 (30 sigma) is detected within a few samples.
  const int shift = kNormal + 1 + kAfterSpike;
  double best = 0;
  for (int i = shift; i < shift + 5; ++i) best = std::max(best, r[i].anomaly_score);
  EXPECT_GT(best, 1.0) << "the shift after the spike is anomalous";
  // The saved state holds only finite numbers: it restores and goes on bit-identically.
  std::string state;
  d->SaveState(&state);
  auto e = MakeDefaultDetector();
  ASSERT_TRUE(e->RestoreState(state).ok());
  DetectionResult a, b;
  const int64_t t = static_cast<int64_t>(v.size()) * kStep;
  ASSERT_TRUE(d->Update(t, 81, &a).ok());
  ASSERT_TRUE(e->Update(t, 81, &b).ok());
  EXPECT_EQ(std::memcmp(&a.anomaly_score, &b.anomaly_score, sizeof(double)), 0);
  EXPECT_NEAR(a.yhat, 80.0, 3.0) << "the new level is learnt";
}

// States saved by earlier formats (BSD1, BSD2) are refused with a clear error, leaving the
// detector untouched.
TEST(StateFormatTest, OlderFormatIsRefusedClearly) {
  auto d = MakeDefaultDetector();
  DetectionResult r;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(d->Update(i * kStep, i % 5, &r).ok());
  std::string state;
  d->SaveState(&state);
  ASSERT_EQ(state.substr(0, 4), "3DSB");  // "BSD3", little-endian
  for (char old : {'1', '2'}) {
    std::string s = state;
    s[0] = old;
    auto e = MakeDefaultDetector();
    const Status st = e->RestoreState(s);
    EXPECT_EQ(st.code(), Status::Code::kCorruption);
    EXPECT_NE(st.message().find(std::string("older format (magic at byte 0 is BSD") + old),
              std::string::npos)
        << st.message();
    EXPECT_EQ(e->stats().accepted, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Spikes, ExtremeSpikeTest, ::testing::Values(1e12, 1e308, -1e308));

// Extremes of both signs in a row must not overflow differences or squares to inf or NaN.
TEST(ExtremeValuesTest, AlternatingExtremesStayFinite) {
  std::vector<double> v = Noise(3000, 13, 50);
  for (int i = 1000; i < 1200; ++i) v[i] = (i % 2 ? 1 : -1) * std::numeric_limits<double>::max();
  auto d = MakeDefaultDetector();
  const auto r = Feed(d.get(), v);
  for (size_t i = 0; i < r.size(); ++i) {
    ASSERT_TRUE(std::isfinite(r[i].anomaly_score)) << i;
    ASSERT_TRUE(std::isfinite(r[i].yhat)) << i;
    ASSERT_GE(r[i].likelihood, 0.0);
    ASSERT_LE(r[i].likelihood, 1.0);
  }
}

}  // namespace
}  // namespace backsight::detect
