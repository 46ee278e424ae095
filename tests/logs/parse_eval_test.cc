#include "backsight/logs/parse_eval.h"

#include <gtest/gtest.h>

namespace backsight::logs {
namespace {

TEST(ParseEvalTest, AllCorrect) {
  ParsingScores s;
  ASSERT_TRUE(EvaluateParsing({"A", "A", "B"}, {"A", "A", "B"}, &s).ok());
  EXPECT_DOUBLE_EQ(s.ga, 1);
  EXPECT_DOUBLE_EQ(s.pa, 1);
  EXPECT_DOUBLE_EQ(s.fga, 1);
  EXPECT_DOUBLE_EQ(s.fta, 1);
}

TEST(ParseEvalTest, OverMergedGroupsAndWrongText) {
  // Truth A,A,B,C; parsed X,X,Y,Y. Group A is exactly {X} (2 rows); B and C share Y.
  ParsingScores s;
  ASSERT_TRUE(EvaluateParsing({"A", "A", "B", "C"}, {"X", "X", "Y", "Y"}, &s).ok());
  EXPECT_DOUBLE_EQ(s.ga, 0.5);
  EXPECT_DOUBLE_EQ(s.pa, 0);
  EXPECT_DOUBLE_EQ(s.pga, 0.5);
  EXPECT_NEAR(s.rga, 1.0 / 3, 1e-12);
  EXPECT_NEAR(s.fga, 0.4, 1e-12);
  EXPECT_DOUBLE_EQ(s.fta, 0);
  EXPECT_EQ(s.truth_templates, 3u);
  EXPECT_EQ(s.parsed_templates, 2u);
}

TEST(ParseEvalTest, SplitGroupStillCountsForTemplateAccuracy) {
  // Truth A,B,B; parsed A,B,C: B is split, but parsed "B" holds only B rows -> correct for FTA.
  ParsingScores s;
  ASSERT_TRUE(EvaluateParsing({"A", "B", "B"}, {"A", "B", "C"}, &s).ok());
  EXPECT_NEAR(s.ga, 1.0 / 3, 1e-12);
  EXPECT_NEAR(s.pa, 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.fga, 0.4, 1e-12);
  EXPECT_NEAR(s.pta, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(s.rta, 1);
  EXPECT_NEAR(s.fta, 0.8, 1e-12);
}

TEST(ParseEvalTest, GroupsByTextNotIdAndExactStrings) {
  // Two rows with the same parsed text are one group; PA compares exact strings (spaces count).
  ParsingScores s;
  ASSERT_TRUE(EvaluateParsing({"a <*>", "a <*>"}, {"a <*>", "a  <*>"}, &s).ok());
  EXPECT_DOUBLE_EQ(s.ga, 0);
  EXPECT_DOUBLE_EQ(s.pa, 0.5);
}

TEST(ParseEvalTest, Errors) {
  ParsingScores s;
  EXPECT_FALSE(EvaluateParsing({"A"}, {"A", "B"}, &s).ok());
  EXPECT_FALSE(EvaluateParsing({}, {}, &s).ok());
}

}  // namespace
}  // namespace backsight::logs
