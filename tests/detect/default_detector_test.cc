#include "backsight/detect/default_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace backsight::detect {
namespace {

constexpr int64_t kStep = 300 * kNanosPerSecond;  // 5-minute samples

// A daily-seasonal noisy series (288 samples per day).
std::vector<double> Seasonal(int n, uint32_t seed, double noise = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, noise);
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = 100 + 20 * std::sin(2 * M_PI * i / 288.0) + g(rng);
  return v;
}

std::vector<DetectionResult> Feed(Detector* d, const std::vector<double>& v, int64_t t0 = 0) {
  std::vector<DetectionResult> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_TRUE(d->Update(t0 + static_cast<int64_t>(i) * kStep, v[i], &out[i]).ok());
  }
  return out;
}

TEST(DefaultDetectorTest, FlagsASpikeAndNotTheNormalStretch) {
  auto v = Seasonal(288 * 10, 1);
  v[288 * 8] += 40;  // a 40-sigma spike
  auto d = MakeDefaultDetector();
  auto r = Feed(d.get(), v);
  EXPECT_TRUE(r[288 * 8].is_anomaly);
  EXPECT_GT(r[288 * 8].anomaly_score, 1.0);
  int false_alarms = 0;
  for (int i = 288 * 3; i < 288 * 8; ++i) false_alarms += r[i].is_anomaly;
  EXPECT_LE(false_alarms, 3) << "false alarms on 5 normal days";
}

TEST(DefaultDetectorTest, ScoresAreCalibratedAndBounded) {
  auto v = Seasonal(288 * 5, 2);
  auto d = MakeDefaultDetector();
  for (const auto& r : Feed(d.get(), v)) {
    EXPECT_GE(r.anomaly_score, 0.0);
    EXPECT_GE(r.likelihood, 0.0);
    EXPECT_LE(r.likelihood, 1.0);
    EXPECT_TRUE(std::isfinite(r.anomaly_score));
  }
}

TEST(DefaultDetectorTest, AdaptsAfterALastingLevelShift) {
  std::mt19937 rng(3);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> v;
  for (int i = 0; i < 2000; ++i) v.push_back(50 + g(rng));
  for (int i = 0; i < 3000; ++i) v.push_back(80 + g(rng));
  auto d = MakeDefaultDetector();
  auto r = Feed(d.get(), v);
  bool onset = false;
  for (int i = 2000; i < 2010; ++i) onset |= r[i].is_anomaly;
  EXPECT_TRUE(onset) << "the shift itself is anomalous";
  int late = 0;
  for (int i = 2500; i < 5000; ++i) late += r[i].is_anomaly;
  EXPECT_LE(late, 5) << "the new level becomes normal";
}

TEST(DefaultDetectorTest, ConstantSeriesIsQuietThenAnyChangeIsAnomalous) {
  std::vector<double> v(1000, 7.0);
  v[900] = 8.0;
  auto d = MakeDefaultDetector();
  auto r = Feed(d.get(), v);
  for (int i = 200; i < 900; ++i) ASSERT_FALSE(r[i].is_anomaly) << i;
  EXPECT_TRUE(r[900].is_anomaly);
}

TEST(DefaultDetectorTest, IntegerValuedSeriesWorks) {
  std::mt19937 rng(4);
  std::poisson_distribution<int> p(3);
  std::vector<double> v(3000);
  for (auto& x : v) x = p(rng);
  v[2500] = 40;
  auto d = MakeDefaultDetector();
  auto r = Feed(d.get(), v);
  EXPECT_TRUE(r[2500].is_anomaly);
  int fa = 0;
  for (int i = 500; i < 2500; ++i) fa += r[i].is_anomaly;
  EXPECT_LE(fa, 10);
}

TEST(DefaultDetectorTest, FindsADailyPeriodFromTheData) {
  auto v = Seasonal(288 * 12, 5, 0.5);
  auto d = MakeDefaultDetector();
  auto r = Feed(d.get(), v);
  // Once the period is known the expected value follows the daily cycle closely.
  double err = 0;
  for (int i = 288 * 11; i < 288 * 12; ++i) err += std::fabs(r[i].yhat - v[i]);
  EXPECT_LT(err / 288, 3.0);
}

TEST(DefaultDetectorTest, GapsAreCountedAndDoNotBreakScoring) {
  auto v = Seasonal(2000, 6);
  auto d = MakeDefaultDetector();
  DetectionResult r;
  int64_t t = 0;
  for (int i = 0; i < 2000; ++i) {
    t += (i == 1000 ? 50 : 1) * kStep;
    ASSERT_TRUE(d->Update(t, v[i], &r).ok());
    ASSERT_TRUE(std::isfinite(r.anomaly_score));
  }
  EXPECT_EQ(d->stats().gaps, 1u);
}

TEST(DefaultDetectorTest, SaveRestoreIsBitIdentical) {
  auto v = Seasonal(288 * 9, 7);
  for (int k : {500, 1500, 2000}) v[k] += 30;
  auto a = MakeDefaultDetector();
  for (int split : {1, 100, 288 * 4 + 17}) {
    auto full = MakeDefaultDetector();
    auto first = MakeDefaultDetector();
    std::vector<DetectionResult> rf = Feed(full.get(), v);
    DetectionResult r;
    for (int i = 0; i < split; ++i) ASSERT_TRUE(first->Update(i * kStep, v[i], &r).ok());
    std::string state;
    first->SaveState(&state);
    EXPECT_LE(state.size(), 4096u);
    auto restored = MakeDefaultDetector();
    ASSERT_TRUE(restored->RestoreState(state).ok());
    for (size_t i = split; i < v.size(); ++i) {
      ASSERT_TRUE(restored->Update(static_cast<int64_t>(i) * kStep, v[i], &r).ok());
      ASSERT_EQ(std::memcmp(&r.anomaly_score, &rf[i].anomaly_score, sizeof(double)), 0) << i;
      ASSERT_EQ(std::memcmp(&r.yhat, &rf[i].yhat, sizeof(double)), 0) << i;
      ASSERT_EQ(r.is_anomaly, rf[i].is_anomaly);
    }
    std::string s1, s2;
    restored->SaveState(&s1);
    full->SaveState(&s2);
    EXPECT_EQ(s1, s2);
  }
}

TEST(DefaultDetectorTest, RestoreRejectsTruncatedOrForeignBytes) {
  auto d = MakeDefaultDetector();
  DetectionResult r;
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(d->Update(i * kStep, i % 7, &r).ok());
  std::string state;
  d->SaveState(&state);
  auto e = MakeDefaultDetector();
  for (size_t cut : {size_t{0}, size_t{3}, state.size() / 2, state.size() - 1}) {
    Status s = e->RestoreState(std::string_view(state).substr(0, cut));
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << cut;
  }
  EXPECT_FALSE(e->RestoreState("garbage bytes that are not a state").ok());
  EXPECT_FALSE(e->RestoreState(state + "x").ok());
  // The failed restores left the fresh detector untouched.
  EXPECT_EQ(e->stats().accepted, 0u);
}

}  // namespace
}  // namespace backsight::detect
