// TteEstimator on shapes an operator meets: a steady fill, a fill whose rate changes, a log
// rotation sawtooth, a daily cycle with a weekend dip, a one-off cleanup; plus the sample
// contract (rejections, at the limit) and the saved state.
#include "backsight/forecast/tte.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace backsight::forecast {
namespace {

constexpr double kHour = 3600;
constexpr double kDay = 86400;
// 2024-01-01 00:00 UTC, a Monday.
constexpr int64_t kStart = 1704067200;

TimestampNs Ns(double s) { return static_cast<TimestampNs>(s) * kNanosPerSecond; }

// Deterministic noise in [-0.5, 0.5) (Numerical Recipes LCG).
class Noise {
 public:
  double Next() {
    x_ = x_ * 1664525u + 1013904223u;
    return (x_ >> 8) / static_cast<double>(1 << 24) - 0.5;
  }

 private:
  uint32_t x_ = 42;
};

// Feeds value(t) (t in seconds since kStart) every `step` seconds for `duration` seconds and calls
// check(t, estimate) after each sample.
void Replay(TteEstimator* est, double duration, double step,
            const std::function<double(double)>& value,
            const std::function<void(double, const TteEstimate&)>& check) {
  for (double t = 0; t <= duration; t += step) {
    ASSERT_EQ(est->Update(Ns(kStart + t), value(t)), TteUpdate::kAccepted);
    check(t, est->Estimate(Ns(kStart + t)));
  }
}

TEST(TteEstimator, SteadyFillWithDailyRhythmIsPredictedWithin10Percent) {
  // 100 GiB-like disk: starts at 30 %, reaches the limit at day 6; the fill is 1.8x faster at
  // the afternoon peak than on average and 0.2x at night.
  const double limit = 1000, start = 300, exhaust = 6 * kDay;
  const double rate = (limit - start) / exhaust;
  Noise noise;
  auto value = [&](double t) {
    double phase = 2 * M_PI * t / kDay;
    double level = start + rate * (t - 0.8 * kDay / (2 * M_PI) * std::sin(phase));
    return level + 0.5 * noise.Next();
  };
  TteEstimator est(limit);
  int checked = 0;
  Replay(&est, exhaust - kHour, 300, value, [&](double t, const TteEstimate& e) {
    double truth = exhaust - t;
    if (t < 3 * kDay || std::fmod(t, kHour) != 0) return;
    ASSERT_TRUE(e.foreseen) << "t=" << t / kHour << " h";
    EXPECT_NEAR(e.tte_seconds, truth, 0.1 * truth + kHour) << "t=" << t / kHour << " h";
    EXPECT_LE(e.tte_low_seconds, e.tte_seconds);
    EXPECT_GE(e.tte_high_seconds, e.tte_seconds);
    ++checked;
  });
  EXPECT_GT(checked, 60);
}

TEST(TteEstimator, RateChangeIsFollowedWithinHalfADay) {
  // Slow growth (would take 60 days), then a deploy at day 3 multiplies the rate by 20.
  const double limit = 1000, deploy = 3 * kDay;
  const double r1 = 500 / (60 * kDay), r2 = 20 * r1;
  auto level = [&](double t) {
    return 500 + r1 * std::min(t, deploy) + r2 * std::max(0.0, t - deploy);
  };
  const double exhaust = deploy + (limit - level(deploy)) / r2;
  Noise noise;
  TteEstimator est(limit);
  int checked = 0;
  Replay(
      &est, exhaust - kHour, 300, [&](double t) { return level(t) + 0.5 * noise.Next(); },
      [&](double t, const TteEstimate& e) {
        if (t < deploy + 12 * kHour || std::fmod(t, kHour) != 0) return;
        double truth = exhaust - t;
        ASSERT_TRUE(e.foreseen) << "t=" << (t - deploy) / kHour << " h after the deploy";
        EXPECT_NEAR(e.tte_seconds, truth, 0.2 * truth + kHour);
        ++checked;
      });
  EXPECT_GT(checked, 10);
}

TEST(TteEstimator, LogRotationSawtoothNeverWarns) {
  // Fills 40 % of the disk in 7 h, rotated back to 40 % every 7 h (a rotation by size, out of
  // step with the day); the peaks sit at 80 %.
  const double limit = 1000;
  Noise noise;
  TteEstimator est(limit);
  Replay(
      &est, 10 * kDay, 300,
      [&](double t) { return 400 + 400 * std::fmod(t, 7 * kHour) / (7 * kHour) + noise.Next(); },
      [&](double t, const TteEstimate& e) {
        if (t < 2 * kDay) return;
        EXPECT_FALSE(e.foreseen && e.tte_seconds < kDay) << "warned at " << t / kHour << " h";
      });
}

TEST(TteEstimator, DailyCycleWithWeekendDipDoesNotWarn) {
  // Traffic-driven memory: peaks at 85 % on weekdays, 30 % lower peaks on Saturday and Sunday.
  // Monday's peak raises the envelope by a step, which is no trend.
  const double limit = 1000;
  Noise noise;
  TteEstimator est(limit);
  Replay(
      &est, 14 * kDay, 60,
      [&](double t) {
        int dow = static_cast<int>(t / kDay) % 7;  // 0 = Monday
        double amp = dow >= 5 ? 0.7 * 500 : 500;
        double daily = 0.5 - 0.5 * std::cos(2 * M_PI * (t / kDay - 4.0 / 24));
        return 350 + amp * daily + 5 * noise.Next();
      },
      [&](double t, const TteEstimate& e) {
        if (t < 2 * kDay) return;
        EXPECT_FALSE(e.foreseen && e.tte_seconds < kDay) << "warned at day " << t / kDay;
      });
}

TEST(TteEstimator, OneOffCleanupStartsANewRegime) {
  // Fast fill to 90 % over two days, a cleanup down to 30 %, then slow growth that would take
  // 70 more days to fill the disk: after the cleanup, no warning.
  const double limit = 1000, cleanup = 2 * kDay;
  Noise noise;
  TteEstimator est(limit);
  Replay(
      &est, 8 * kDay, 300,
      [&](double t) {
        if (t < cleanup) return 200 + 700 * t / cleanup + noise.Next();
        return 300 + 700 * (t - cleanup) / (70 * kDay) + noise.Next();
      },
      [&](double t, const TteEstimate& e) {
        if (t < cleanup + kHour) return;
        EXPECT_FALSE(e.foreseen && e.tte_seconds < 3 * kDay) << "warned at " << t / kHour << " h";
      });
}

TEST(TteEstimator, LeakRestartedEvery40HoursDoesNotWarn) {
  // Memory leaks from 40 % to 85 % of the limit and the container is restarted every 40 h (a
  // cycle longer than a day, shorter than two).
  const double limit = 1000;
  Noise noise;
  TteEstimator est(limit);
  Replay(
      &est, 10 * kDay, 60,
      [&](double t) {
        return 400 + 450 * std::fmod(t, 40 * kHour) / (40 * kHour) + 3 * noise.Next();
      },
      [&](double t, const TteEstimate& e) {
        // From the third restart on (the first one starts a regime, the second shows the cycle;
        // between them the young-series slope can still warn: a known limit).
        if (t < 5 * kDay) return;
        EXPECT_FALSE(e.foreseen && e.tte_seconds < kDay) << "warned at " << t / kHour << " h";
      });
}

TEST(TteEstimator, OneOffLevelShiftDoesNotWarn) {
  // A dataset loaded once: the disk steps from 40 % to 85 % at day 3 and stays there.
  const double limit = 1000;
  Noise noise;
  TteEstimator est(limit);
  Replay(
      &est, 8 * kDay, 300, [&](double t) { return (t < 3 * kDay ? 400 : 850) + noise.Next(); },
      [&](double t, const TteEstimate& e) {
        EXPECT_FALSE(e.foreseen && e.tte_seconds < kDay) << "warned at " << t / kHour << " h";
      });
}

TEST(TteEstimator, RejectsNonFiniteAndOutOfOrderAndReportsZeroAtTheLimit) {
  TteEstimator est(100);
  EXPECT_EQ(est.Update(Ns(kStart), 10), TteUpdate::kAccepted);
  EXPECT_EQ(est.Update(Ns(kStart + 60), std::nan("")), TteUpdate::kRejectedNonFinite);
  EXPECT_EQ(est.Update(Ns(kStart + 60), std::numeric_limits<double>::infinity()),
            TteUpdate::kRejectedNonFinite);
  EXPECT_EQ(est.Update(Ns(kStart), 11), TteUpdate::kRejectedOutOfOrder);
  EXPECT_FALSE(est.Estimate(Ns(kStart)).foreseen);  // one sample: no trend
  EXPECT_EQ(est.Update(Ns(kStart + 120), 100), TteUpdate::kAccepted);
  TteEstimate e = est.Estimate(Ns(kStart + 120));
  EXPECT_TRUE(e.foreseen);
  EXPECT_EQ(e.tte_seconds, 0);
}

TEST(TteEstimator, SavedStateContinuesBitExactly) {
  const double limit = 1000;
  Noise noise;
  auto value = [&](double t) {
    return 300 + 600 * t / (5 * kDay) + 50 * std::fmod(t / 1200, 1.0) + noise.Next();
  };
  TteEstimator a(limit);
  double t = 0;
  // Saved in the middle of an hour.
  for (; t < 3 * kDay + 1800; t += 60) {
    ASSERT_EQ(a.Update(Ns(kStart + t), value(t)), TteUpdate::kAccepted);
  }
  std::string state;
  a.SaveState(&state);
  TteEstimator b(1);
  ASSERT_TRUE(b.RestoreState(state).ok());
  EXPECT_EQ(b.limit(), limit);
  for (; t < 5 * kDay; t += 60) {
    double v = value(t);
    ASSERT_EQ(a.Update(Ns(kStart + t), v), TteUpdate::kAccepted);
    ASSERT_EQ(b.Update(Ns(kStart + t), v), TteUpdate::kAccepted);
    TteEstimate ea = a.Estimate(Ns(kStart + t)), eb = b.Estimate(Ns(kStart + t));
    ASSERT_EQ(ea.foreseen, eb.foreseen);
    ASSERT_EQ(ea.tte_seconds, eb.tte_seconds);
    ASSERT_EQ(ea.tte_high_seconds, eb.tte_high_seconds);
  }
  EXPECT_TRUE(a.Estimate(Ns(kStart + t)).foreseen);
  std::string sa, sb;
  a.SaveState(&sa);
  b.SaveState(&sb);
  EXPECT_EQ(sa, sb);
}

TEST(TteEstimator, DamagedStateIsCorruption) {
  TteEstimator a(10);
  std::string state;
  a.SaveState(&state);
  TteEstimator b(10);
  EXPECT_EQ(b.RestoreState(state.substr(0, state.size() - 1)).code(), Status::Code::kCorruption);
  EXPECT_EQ(b.RestoreState(state + "x").code(), Status::Code::kCorruption);
  std::string bad = state;
  bad[0] ^= 1;
  EXPECT_EQ(b.RestoreState(bad).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace backsight::forecast
