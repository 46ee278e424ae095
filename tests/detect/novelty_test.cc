#include "backsight/detect/novelty.h"

#include <gtest/gtest.h>

#include <cmath>

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
  EXPECT_NEAR(AnomalyScoreFromLikelihood(kLikelihoodAtScoreOne), 1.0, 1e-12);
  EXPECT_EQ(AnomalyScoreFromLikelihood(0), 0);
  EXPECT_FALSE(std::signbit(AnomalyScoreFromLikelihood(0)));  // +0, never printed as "-0"
  EXPECT_GT(AnomalyScoreFromLikelihood(NoveltyLikelihood(global)), 1);
  EXPECT_LE(AnomalyScoreFromLikelihood(1.0), 20);
}

}  // namespace backsight::detect
