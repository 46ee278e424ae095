// The default detector's anomaly_score: it ranks severity above 1 and is capped during warm-up.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "backsight/detect/default_detector.h"
#include "series_util.h"

namespace backsight::detect {
namespace {

constexpr int kNormal =
    2500;  // warm-up (<= 500 samples), then >= 2,000 scored ones around 50, sigma 1

using testing::Feed;
using testing::kStep;
using testing::Noise;

// Severity: a 30-sigma jump scores well above a 4-sigma blip; both are anomalous.
TEST(SeverityTest, LargerDeviationsScoreHigher) {
  std::vector<double> blip = Noise(kNormal + 100, 14, 50);
  std::vector<double> jump = blip;
  blip[kNormal] = 54;
  for (size_t i = kNormal; i < jump.size(); ++i) jump[i] += 30;
  auto d1 = MakeDefaultDetector();
  auto d2 = MakeDefaultDetector();
  const double s_blip = Feed(d1.get(), blip)[kNormal].anomaly_score;
  const double s_jump = Feed(d2.get(), jump)[kNormal].anomaly_score;
  EXPECT_GT(s_blip, 1.0);
  EXPECT_GE(s_jump, 2.0 * s_blip) << "blip " << s_blip << ", jump " << s_jump;
}

// Warm-up rows never score above 1 (is_anomaly is false there, so the score agrees with it).
TEST(WarmupTest, NoScoreAboveOneDuringWarmup) {
  std::vector<double> v = Noise(1000, 15, 50);
  const int warmup = DefaultDetectorOptions().warmup_samples;
  for (int i = 100; i < warmup; i += 37) v[i] += 40 * (i % 2 ? 1 : -1);
  auto d = MakeDefaultDetector();
  const auto r = Feed(d.get(), v);
  int strong_warmup_evidence = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (!r[i].warming_up) continue;
    ASSERT_LE(r[i].anomaly_score, 1.0) << i;
    ASSERT_FALSE(r[i].is_anomaly) << i;
    strong_warmup_evidence += r[i].likelihood > 0.978;  // would score above 1 after warm-up
  }
  EXPECT_GT(strong_warmup_evidence, 0) << "the spikes are seen; only their score is capped";
  EXPECT_TRUE(r[warmup - 1].warming_up);
  EXPECT_FALSE(r[warmup].warming_up);
}

// The default warm-up: 500 samples (2 h 05 min at a 15 s scrape interval, 8 h 20 min at 1 min);
// the README states it, so a change must be deliberate.
TEST(WarmupTest, DefaultIs500Samples) {
  EXPECT_EQ(DefaultDetectorOptions().warmup_samples, 500);
  EXPECT_EQ(MakeDefaultDetector()->warmup_samples(), 500u);
}

// A state keeps the warm-up it was created with: one saved by a detector with a 300-sample
// warm-up leaves it at sample 300 after a restore into a default (500-sample) detector.
TEST(WarmupTest, RestoredStateKeepsItsWarmup) {
  std::vector<double> v = Noise(600, 16, 50);
  DefaultDetectorOptions old;
  old.warmup_samples = 300;
  auto a = MakeDefaultDetector(old);
  Feed(a.get(), std::vector<double>(v.begin(), v.begin() + 100));
  std::string state;
  a->SaveState(&state);
  auto b = MakeDefaultDetector();
  ASSERT_TRUE(b->RestoreState(state).ok());
  EXPECT_EQ(b->warmup_samples(), 300u);
  DetectionResult r;
  for (int i = 100; i < 600; ++i) {
    ASSERT_TRUE(b->Update(i * kStep, v[i], &r).ok());
    ASSERT_EQ(r.warming_up, i < 300) << i;
  }
}

}  // namespace
}  // namespace backsight::detect
