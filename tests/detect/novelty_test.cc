#include "backsight/detect/novelty.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backsight/detect/calibrator.h"

namespace backsight::detect {

TEST(GlobalEnvelopeTest, ExcessInWidthsAfterMinSamples) {
  GlobalEnvelope e;
  EXPECT_EQ(e.Update(0, 2), 0);
  EXPECT_EQ(e.Update(10, 2), 0);           // still warming up (n = 1 < 2)
  EXPECT_DOUBLE_EQ(e.Update(15, 2), 0.5);  // 5 beyond a width of 10
  EXPECT_EQ(e.Update(12, 2), 0);           // inside [0, 15]
  EXPECT_DOUBLE_EQ(e.Update(-15, 2), 1.0);
  EXPECT_EQ(e.lo(), -15);
  EXPECT_EQ(e.hi(), 15);
}

TEST(GlobalEnvelopeTest, ZeroWidthMeansAnyChangeIsNovel) {
  GlobalEnvelope e;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(e.Update(3, 1), 0);
  EXPECT_GT(e.Update(3.5, 1), 1e6);
}

TEST(LocalEnvelopeTest, ForgetsOldExtremes) {
  LocalEnvelope e;
  e.Update(100, 50, 1);  // an old spike
  for (int i = 0; i < 1000; ++i) e.Update(i % 2, 50, 1);
  EXPECT_LT(e.hi(), 2.0);
  EXPECT_GT(e.Update(10, 50, 1), 1.0);  // a burst that the global envelope would not flag
}

TEST(RollingMeanTest, MeanOfLastTen) {
  RollingMean m;
  EXPECT_DOUBLE_EQ(m.Add(4), 4);
  double last = 0;
  for (int i = 1; i <= 25; ++i) last = m.Add(i);
  EXPECT_DOUBLE_EQ(last, 20.5);  // mean of 16..25
}

TEST(CalibratorTest, SeverityOrderAndScoreOne) {
  NoveltyEvidence none, local, global;
  local.local_excess = 3;
  global.global_excess = 0.5;
  EXPECT_EQ(NoveltyLikelihood(none), 0);
  EXPECT_GT(NoveltyLikelihood(global), NoveltyLikelihood(local));
  EXPECT_GT(NoveltyLikelihood(local), 0.97);
  EXPECT_EQ(AnomalyScore(none), 0);
  EXPECT_FALSE(std::signbit(AnomalyScore(none)));  // +0, never printed as "-0"
  EXPECT_GT(AnomalyScore(global), AnomalyScore(local));
  EXPECT_GT(AnomalyScore(local), 1);
  EXPECT_LT(AnomalyScore(local), 2);
  // Score 1 exactly where the likelihood crosses the threshold.
  NoveltyEvidence at;
  at.local_excess = -std::log((1 - kLikelihoodAtScoreOne / 0.98) / 0.01);
  EXPECT_NEAR(NoveltyLikelihood(at), kLikelihoodAtScoreOne, 1e-12);
  EXPECT_NEAR(AnomalyScore(at), 1.0, 1e-9);
}

// The score orders rows exactly as the likelihood does (a higher likelihood never scores lower,
// and score > 1 exactly when likelihood > kLikelihoodAtScoreOne), but keeps growing above 1.
TEST(CalibratorTest, ScoreIsMonotoneInLikelihoodAndGrowsAboveOne) {
  std::vector<NoveltyEvidence> evs;
  for (double x = 0; x < 60; x += 0.01) {
    NoveltyEvidence l, g;
    l.local_excess = x;
    g.global_excess = x / 50;
    g.local_excess = x;
    evs.push_back(l);
    evs.push_back(g);
  }
  for (double g = 1; g <= 1e9; g *= 3) {
    NoveltyEvidence e;
    e.global_excess = g;
    evs.push_back(e);
  }
  std::sort(evs.begin(), evs.end(), [](const NoveltyEvidence& a, const NoveltyEvidence& b) {
    return NoveltyLikelihood(a) < NoveltyLikelihood(b);
  });
  for (size_t i = 1; i < evs.size(); ++i) {
    const double la = NoveltyLikelihood(evs[i - 1]), lb = NoveltyLikelihood(evs[i]);
    const double sa = AnomalyScore(evs[i - 1]), sb = AnomalyScore(evs[i]);
    if (la < lb) {
      ASSERT_LT(sa, sb) << i;
    }
    ASSERT_EQ(sb > 1, lb > kLikelihoodAtScoreOne) << i;
    ASSERT_TRUE(std::isfinite(sb));
  }
  // Above the threshold the score resolves severity: 10x the global excess adds ln(10).
  NoveltyEvidence small, big;
  small.global_excess = 0.1;
  big.global_excess = 1.0;
  EXPECT_NEAR(AnomalyScore(big) - AnomalyScore(small), std::log(10.0), 1e-12);
  // A drift's accumulated shift ranks an anomalous local row higher, nothing else.
  NoveltyEvidence step, drift, quiet;
  step.local_excess = drift.local_excess = 2.2;
  drift.drift = 8.8;
  quiet.local_excess = 0.5;
  quiet.drift = 8.8;
  EXPECT_GT(AnomalyScore(drift), AnomalyScore(step));
  EXPECT_EQ(NoveltyLikelihood(drift), NoveltyLikelihood(step));
  EXPECT_LT(AnomalyScore(quiet), 1.0);
}

}  // namespace backsight::detect
