// Tests of the forecasters: accuracy on known series, interval coverage, robustness, state.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backsight/core/byte_io.h"
#include "backsight/forecast/auto_forecaster.h"
#include "backsight/forecast/smoothing_model.h"

namespace backsight::forecast {
namespace {

constexpr double kTwoPi = 6.283185307179586;

// 10 + 0.02 t + 3 sin(2 pi t / 24) + (weekly) 1.5 sin(2 pi t / 168): trend, daily and weekly.
double Seasonal(int t, bool weekly) {
  return 10 + 0.02 * t + 3 * std::sin(kTwoPi * t / 24) +
         (weekly ? 1.5 * std::sin(kTwoPi * t / 168) : 0.0);
}

std::vector<double> SeasonalSeries(int n, bool weekly) {
  std::vector<double> x(n);
  for (int t = 0; t < n; ++t) x[t] = Seasonal(t, weekly);
  return x;
}

TEST(FindPeriods, FindsDailyAndWeeklyOnHourlyData) {
  const Periods p = FindPeriods(SeasonalSeries(24 * 7 * 5, true));
  EXPECT_EQ(p.period1, 24);
  EXPECT_EQ(p.period2, 168);
}

TEST(FindPeriods, NoPeriodInWhiteNoise) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> x(800);
  for (double& v : x) v = 50 + noise(rng);
  const Periods p = FindPeriods(x);
  EXPECT_EQ(p.period1, 0);
  EXPECT_EQ(p.period2, 0);
}

TEST(AutoForecaster, PureSeasonalTrendSeriesIsForecastWithinTolerance) {
  const int n = 24 * 7 * 5;
  AutoForecaster f;
  ASSERT_TRUE(f.Fit(SeasonalSeries(n, true), 48).ok());
  std::vector<ForecastPoint> out(48);
  f.Forecast(out);
  double worst = 0;
  for (int k = 0; k < 48; ++k)
    worst = std::max(worst, std::fabs(out[k].yhat - Seasonal(n + k, true)));
  // The daily swing is +-3 and the weekly +-1.5. The trend adds 0.96 over the 48 steps, of which
  // the damped and Theta trends (by design) extrapolate about half by the last step.
  EXPECT_LT(worst, 0.6) << f.Describe();
  // One step ahead nothing is damped yet: within 0.1.
  EXPECT_NEAR(out[0].yhat, Seasonal(n, true), 0.1) << f.Describe();
  for (const ForecastPoint& p : out) {
    EXPECT_LE(p.lower, p.yhat);
    EXPECT_GE(p.upper, p.yhat);
  }
}

TEST(SmoothingModel, DampedTrendFollowsALinearRamp) {
  SmoothingConfig c;
  c.trend = TrendKind::kDamped;
  c.alpha = 0.3;
  c.beta = 0.1;
  c.phi = 0.99;
  SmoothingModel m(c);
  std::vector<double> x(300);
  for (int t = 0; t < 300; ++t) x[t] = 5 + 0.5 * t;
  m.Initialise(x);
  for (double v : x) m.Update(v);
  std::vector<ForecastPoint> out(5);
  m.Forecast(1.96, out);
  // Damping (phi 0.99) bends the ramp slightly: within a tenth of its 2.5 rise over 5 steps (a
  // model without the trend would lag by more than the slope, 0.5, at once).
  for (int k = 0; k < 5; ++k) EXPECT_NEAR(out[k].yhat, 5 + 0.5 * (300 + k), 0.25) << k;
}

// 95 % intervals cover about 95 % of future values of Gaussian noise (here: a level, N(50, 1)).
TEST(AutoForecaster, IntervalsCoverAbout95PercentOnGaussianNoise) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0, 1);
  int inside = 0, total = 0;
  for (int rep = 0; rep < 100; ++rep) {
    std::vector<double> x(400);
    for (double& v : x) v = 50 + noise(rng);
    AutoForecaster f;
    ASSERT_TRUE(f.Fit(x, 24).ok());
    std::vector<ForecastPoint> out(24);
    f.Forecast(out);
    for (const ForecastPoint& p : out) {
      const double y = 50 + noise(rng);
      inside += y >= p.lower && y <= p.upper;
      ++total;
    }
  }
  const double coverage = static_cast<double>(inside) / total;
  EXPECT_GT(coverage, 0.92);
  EXPECT_LT(coverage, 0.99);
}

TEST(AutoForecaster, OneOutlierInTheHistoryBarelyMovesTheForecast) {
  const int n = 24 * 7 * 5;
  std::vector<double> x = SeasonalSeries(n, false);
  std::vector<double> spiked = x;
  spiked[n - 30] = 1e6;
  AutoForecaster clean, dirty;
  ASSERT_TRUE(clean.Fit(x, 24).ok());
  ASSERT_TRUE(dirty.Fit(spiked, 24).ok());
  std::vector<ForecastPoint> a(24), b(24);
  clean.Forecast(a);
  dirty.Forecast(b);
  for (int k = 0; k < 24; ++k) EXPECT_NEAR(b[k].yhat, Seasonal(n + k, false), 1.0) << k;
}

TEST(AutoForecaster, RejectsEmptyAndNonFiniteInput) {
  AutoForecaster f;
  EXPECT_FALSE(f.Fit({}, 10).ok());
  const std::vector<double> bad = {1, 2, NAN, 4};
  EXPECT_FALSE(f.Fit(bad, 10).ok());
}

TEST(AutoForecaster, StreamingUpdateSurvivesZeroAndRefusesNonFinite) {
  // A positive series gets log models among its candidates; a later 0 must not poison them.
  std::vector<double> x(24 * 20);
  for (size_t t = 0; t < x.size(); ++t) x[t] = 100 * (1.5 + std::sin(kTwoPi * t / 24));
  AutoForecaster f;
  ASSERT_TRUE(f.Fit(x, 24).ok());
  std::string before;
  ByteWriter w(&before);
  f.Save(&w);
  EXPECT_FALSE(f.Update(NAN).ok());
  EXPECT_FALSE(f.Update(INFINITY).ok());
  std::string after;
  ByteWriter w2(&after);
  f.Save(&w2);
  EXPECT_EQ(before, after);  // refused values leave the state untouched
  ASSERT_TRUE(f.Update(0.0).ok());
  ASSERT_TRUE(f.Update(-5.0).ok());
  for (size_t t = x.size() + 2; t < x.size() + 50; ++t) {
    ASSERT_TRUE(f.Update(100 * (1.5 + std::sin(kTwoPi * t / 24))).ok());
  }
  std::vector<ForecastPoint> out(24);
  f.Forecast(out);
  for (const ForecastPoint& p : out) {
    EXPECT_TRUE(std::isfinite(p.yhat) && std::isfinite(p.lower) && std::isfinite(p.upper));
    EXPECT_GT(p.yhat, 20);
    EXPECT_LT(p.yhat, 280);
  }
}

TEST(AutoForecaster, SaveRestoreIsBitExact) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 0.5);
  std::vector<double> x(24 * 7 * 4);
  for (size_t t = 0; t < x.size(); ++t) x[t] = Seasonal(static_cast<int>(t), true) + noise(rng);
  AutoForecaster a;
  ASSERT_TRUE(a.Fit(x, 48).ok());
  std::string saved;
  ByteWriter w(&saved);
  a.Save(&w);
  AutoForecaster b;
  ByteReader r(saved);
  ASSERT_TRUE(b.Restore(&r).ok());
  EXPECT_TRUE(r.done());
  // Both keep learning the same samples and must stay identical to the bit.
  for (int t = 0; t < 100; ++t) {
    const double v = Seasonal(static_cast<int>(x.size()) + t, true) + noise(rng);
    ASSERT_TRUE(a.Update(v).ok());
    ASSERT_TRUE(b.Update(v).ok());
  }
  std::vector<ForecastPoint> fa(48), fb(48);
  a.Forecast(fa);
  b.Forecast(fb);
  for (int k = 0; k < 48; ++k) {
    EXPECT_EQ(std::memcmp(&fa[k], &fb[k], sizeof(ForecastPoint)), 0) << k;
  }
  std::string sa, sb;
  ByteWriter wa(&sa), wb(&sb);
  a.Save(&wa);
  b.Save(&wb);
  EXPECT_EQ(sa, sb);
}

TEST(AutoForecaster, RestoreRefusesDamagedState) {
  AutoForecaster a;
  ASSERT_TRUE(a.Fit(SeasonalSeries(24 * 20, false), 24).ok());
  std::string saved;
  ByteWriter w(&saved);
  a.Save(&w);
  for (size_t cut : {size_t{0}, size_t{3}, saved.size() / 2, saved.size() - 1}) {
    AutoForecaster b;
    ByteReader r(std::string_view(saved).substr(0, cut));
    EXPECT_FALSE(b.Restore(&r).ok()) << cut;
  }
  std::string bad = saved;
  bad[0] ^= 0x55;
  AutoForecaster c;
  ByteReader r(bad);
  const Status s = c.Restore(&r);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
}

}  // namespace
}  // namespace backsight::forecast
