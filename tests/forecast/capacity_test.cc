// Tests of the capacity advice (forecast/capacity.h).
#include "backsight/forecast/capacity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace backsight::forecast {
namespace {

constexpr double kTwoPi = 6.283185307179586;

// Hourly demand in requests/s: `mean` plus a daily swing of `amplitude` (0 = flat) and noise.
// Ends at a daily trough-to-peak midpoint (t % 24 == 0, rising) so the peak is 6 h ahead.
std::vector<double> Demand(double mean, double amplitude, int days, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 10);
  std::vector<double> x;
  for (int t = 0; t <= 24 * days; ++t) {
    x.push_back(mean + amplitude * std::sin(kTwoPi * t / 24) + noise(rng));
  }
  return x;
}

CapacityOptions Options() {
  CapacityOptions opt;
  opt.per_replica = 100;  // requests/s at 100 % utilisation
  opt.target_utilization = 0.8;
  opt.min_replicas = 2;
  opt.max_replicas = 50;
  opt.horizon = 6;  // hours
  opt.startup = 1;
  return opt;
}

TEST(Capacity, SeasonalDemandGetsMoreReplicasBeforeItsPeakThanFlat) {
  const std::vector<double> seasonal = Demand(500, 300, 14, 1);
  const std::vector<double> flat = Demand(500, 0, 14, 2);
  CapacityAdvisor s(Options()), f(Options());
  ASSERT_TRUE(s.Fit(seasonal).ok());
  ASSERT_TRUE(f.Fit(flat).ok());
  const CapacityAdvice as = s.Advise(), af = f.Advise();
  // Both sit near 500 requests/s now: ceil(500 / 80) = 7 replicas on the current value.
  EXPECT_NEAR(as.current, 500, 40);
  EXPECT_NEAR(af.current, 500, 40);
  // The seasonal one peaks at ~800 in 6 h: ceil(800 / 80) = 10 or more; the flat one stays ~7.
  EXPECT_GE(as.replicas, 10) << as.reason;
  EXPECT_LE(af.replicas, 8) << af.reason;
  EXPECT_GT(as.peak_step, 3) << as.reason;
  EXPECT_LE(as.peak_step, 7) << as.reason;
}

TEST(Capacity, StartupLeadWidensTheWindow) {
  std::vector<ForecastPoint> fc(10, {100, 90, 110});
  fc[7].upper = 400;  // a burst 8 steps ahead
  CapacityOptions opt = Options();
  opt.horizon = 6;
  opt.startup = 0;
  EXPECT_EQ(AdviseReplicas(100, fc, opt).replicas, 2);  // ceil(110 / 80) = 2
  opt.startup = 2;
  const CapacityAdvice a = AdviseReplicas(100, fc, opt);
  EXPECT_EQ(a.replicas, 5);  // ceil(400 / 80)
  EXPECT_EQ(a.peak_step, 8);
}

TEST(Capacity, ClampsToMinAndMaxAndUsesCurrentWhenHigher) {
  std::vector<ForecastPoint> fc(6, {10, 5, 20});
  CapacityOptions opt = Options();
  CapacityAdvice a = AdviseReplicas(10, fc, opt);
  EXPECT_EQ(a.replicas, 2);
  EXPECT_NE(a.reason.find("raised to min 2"), std::string::npos) << a.reason;
  a = AdviseReplicas(1e6, fc, opt);
  EXPECT_EQ(a.replicas, 50);
  EXPECT_EQ(a.peak_step, 0);
  EXPECT_NE(a.reason.find("capped at max 50"), std::string::npos) << a.reason;
}

TEST(Capacity, RejectsBadOptions) {
  CapacityOptions opt = Options();
  EXPECT_TRUE(ValidateCapacityOptions(opt).ok());
  opt.per_replica = 0;
  EXPECT_FALSE(ValidateCapacityOptions(opt).ok());
  opt = Options();
  opt.target_utilization = 1.5;
  EXPECT_FALSE(ValidateCapacityOptions(opt).ok());
  opt = Options();
  opt.max_replicas = 1;
  EXPECT_FALSE(ValidateCapacityOptions(opt).ok());
  CapacityAdvisor none(Options());
  EXPECT_FALSE(none.Update(1).ok());
  EXPECT_EQ(none.Advise().replicas, 2);
}

}  // namespace
}  // namespace backsight::forecast
