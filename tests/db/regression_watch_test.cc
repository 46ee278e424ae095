// The regression rule on synthetic snapshots (no server): named within two snapshots, quiet on
// an unchanged workload, statistics resets tolerated.
#include "backsight/db/regression_watch.h"

#include <gtest/gtest.h>

namespace backsight::db {
namespace {

constexpr TimestampNs kMinute = 60'000'000'000;

class Feed {
 public:
  // Adds `calls` calls of `mean_ms` each to fingerprint `fp`'s cumulative counters.
  void Run(uint64_t fp, double calls, double mean_ms) {
    auto& c = snap_.statements[fp];
    c.calls += calls;
    c.total_exec_ms += calls * mean_ms;
    c.rows += calls;
  }
  void Reset() { snap_.statements.clear(); }
  // Takes the next snapshot (one minute later) and returns the regressions.
  std::vector<Regression> Snapshot() {
    snap_.taken_at += kMinute;
    std::vector<StatementSample> samples;
    std::vector<Regression> out;
    watch_.Observe(snap_, &samples, &out);
    last_samples_ = samples;
    return out;
  }
  std::vector<StatementSample> last_samples_;

 private:
  StatSnapshot snap_;
  RegressionWatch watch_;
};

TEST(RegressionWatchTest, NamedWithinTwoSnapshots) {
  Feed f;
  EXPECT_TRUE(f.Snapshot().empty());  // starting point
  f.Run(1, 100, 0.05);
  f.Run(2, 100, 3.0);
  EXPECT_TRUE(f.Snapshot().empty());  // first interval: the baseline
  ASSERT_EQ(f.last_samples_.size(), 2u);
  EXPECT_DOUBLE_EQ(f.last_samples_[0].mean_ms, 0.05);
  EXPECT_NEAR(f.last_samples_[0].calls_per_second, 100.0 / 60, 1e-9);
  f.Run(1, 100, 12.0);  // index lost: 0.05 -> 12 ms
  f.Run(2, 100, 3.1);
  auto r = f.Snapshot();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].fingerprint, 1u);
  EXPECT_TRUE(r[0].first);
  EXPECT_NEAR(r[0].factor, 240, 1e-6);
  EXPECT_EQ(r[0].since, 2 * kMinute);  // the snapshot before the regressed interval
  f.Run(1, 100, 12.0);                 // still slow: ongoing, same start
  r = f.Snapshot();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].first);
  EXPECT_EQ(r[0].since, 2 * kMinute);
  f.Run(1, 100, 0.05);  // fixed
  EXPECT_TRUE(f.Snapshot().empty());
}

TEST(RegressionWatchTest, QuietOnUnchangedNoisyWorkload) {
  Feed f;
  (void)f.Snapshot();
  const double means[] = {4.0, 5.5, 3.2, 6.8, 4.4, 7.5, 3.9, 5.0, 6.1, 4.8};  // within 2x
  for (double m : means) {
    f.Run(1, 50, m);
    f.Run(2, 5, 100 * m);  // too few calls to be judged
    EXPECT_TRUE(f.Snapshot().empty()) << m;
  }
  // A sub-millisecond slowdown is not named even at a large factor.
  f.Run(3, 100, 0.01);
  (void)f.Snapshot();
  f.Run(3, 100, 0.2);
  EXPECT_TRUE(f.Snapshot().empty());
}

TEST(RegressionWatchTest, ResetStartsAfresh) {
  Feed f;
  (void)f.Snapshot();
  f.Run(1, 100, 1.0);
  (void)f.Snapshot();
  f.Reset();
  f.Run(1, 10, 1.0);  // counters went down: no negative interval, no regression
  EXPECT_TRUE(f.Snapshot().empty());
  EXPECT_TRUE(f.last_samples_.empty());
}

TEST(RegressionWatchTest, SlowerMeanAcceptedAfterAWhile) {
  RegressionRule rule;
  Feed f;
  (void)f.Snapshot();
  f.Run(1, 100, 1.0);
  (void)f.Snapshot();
  for (int i = 0; i < rule.accept_after; ++i) {
    f.Run(1, 100, 10.0);
    EXPECT_EQ(f.Snapshot().size(), i + 1 < rule.accept_after ? 1u : 0u) << i;
  }
  f.Run(1, 100, 10.0);
  EXPECT_TRUE(f.Snapshot().empty());
}

}  // namespace
}  // namespace backsight::db
