// Tests of the M4 scorer against hand-computed values (definitions: shared/data/m4_hourly README).
#include "backsight/evaluate/m4_scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace backsight::evaluate {
namespace {

TEST(M4Scorer, SmapeAndMaseByHand) {
  const std::vector<double> y = {10, 20}, f = {12, 20};
  // sMAPE = (200 * 2 / 22 + 0) / 2.
  EXPECT_DOUBLE_EQ(M4Smape(y, f), 100.0 * 2 / 22);
  // In-sample seasonal differences at m = 2: |3-1|, |4-2|, |7-3| -> scale 8/3; MAE 1.
  const std::vector<double> x = {1, 2, 3, 4, 7};
  EXPECT_DOUBLE_EQ(M4Mase(x, y, f, 2), 1.0 / (8.0 / 3));
}

TEST(M4Scorer, Naive2OfANonSeasonalSeriesIsTheLastValue) {
  std::vector<double> x;
  for (int i = 0; i < 100; ++i) x.push_back(5 + (i % 2));  // period 2, but m = 24 tests it
  EXPECT_FALSE(M4SeasonalityTest(x, 24));
  for (double v : M4Naive2(x, 24, 5)) EXPECT_DOUBLE_EQ(v, x.back());
}

TEST(M4Scorer, Naive2ReseasonalisesAMultiplicativeCycle) {
  // x_t = 100 (1 + 0.5 sin(2 pi t / 24)), 12 days (the ACF test needs 10 log10 n >= 24): seasonal;
  // Naive2 repeats the cycle at its level.
  std::vector<double> x;
  for (int t = 0; t < 24 * 12; ++t) x.push_back(100 * (1 + 0.5 * std::sin(2 * M_PI * t / 24)));
  ASSERT_TRUE(M4SeasonalityTest(x, 24));
  const std::vector<double> f = M4Naive2(x, 24, 48);
  for (int k = 0; k < 48; ++k) {
    EXPECT_NEAR(f[k], 100 * (1 + 0.5 * std::sin(2 * M_PI * (288 + k) / 24)), 1e-6) << k;
  }
}

TEST(M4Scorer, ReadsTheWideLayoutWithPadding) {
  std::vector<M4Series> s;
  ASSERT_TRUE(ReadM4Wide("\"V1\",\"V2\",\"V3\",\"V4\"\n\"H1\",1,2.5,3\n\"H2\",4,,\n", &s).ok());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, "H1");
  EXPECT_EQ(s[0].values, (std::vector<double>{1, 2.5, 3}));
  EXPECT_EQ(s[1].values, (std::vector<double>{4}));
  EXPECT_FALSE(ReadM4Wide("id,a,b\nH1,1,x\n", &s).ok());
}

TEST(M4Scorer, OwaOfNaive2ItselfIsOne) {
  std::vector<std::vector<double>> xs, ys, fs;
  for (int s = 0; s < 3; ++s) {
    std::vector<double> x;
    for (int t = 0; t < 24 * 8; ++t) x.push_back(50 + s + 10 * std::sin(2 * M_PI * t / 24) + t % 7);
    xs.push_back(x);
    ys.push_back(std::vector<double>(48, 55.0 + s));
    fs.push_back(M4Naive2(x, 24, 48));
  }
  const M4Score sc = ScoreM4(xs, ys, fs, 24);
  EXPECT_DOUBLE_EQ(sc.owa, 1.0);
  EXPECT_EQ(sc.series, 3);
}

}  // namespace
}  // namespace backsight::evaluate
