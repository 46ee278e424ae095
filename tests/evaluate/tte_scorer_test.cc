// The TTE benchmark scorer on a hand-worked case (figures computed from the protocol in
// ../shared/data/tte/README.md), and label parsing.
#include "backsight/evaluate/tte_scorer.h"

#include <gtest/gtest.h>

#include <limits>

namespace backsight::evaluate {
namespace {

constexpr double kH = 3600;
constexpr double kNone = std::numeric_limits<double>::infinity();

TEST(TteScorer, HandWorkedCase) {
  const std::string csv =
      "series_id,scenario,exhaust_class,limit,step_s,eval_start_ts,eval_end_ts,eval_step_s,"
      "exhaust_ts\n"
      "a,fill,in_window,100,60,0,36000,3600,18000\n"
      "b,flat,never,100,60,0,169200,3600,\n";
  std::vector<TteLabel> labels;
  ASSERT_TRUE(ParseTteLabels(csv, &labels).ok());
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].EvalPoints().size(), 5u);  // 0..4 h, before the exhaustion at 5 h
  EXPECT_EQ(labels[0].GridPoints().size(), 11u);
  EXPECT_EQ(labels[1].EvalPoints().size(), 48u);  // two days

  // a: T = 5, 4, 3, 2, 1 h. Within 20 %: 4 h (t = 1 h), 2 h, 1.1 h -> 3 of 5; the first correct
  // warning at T = 4 h. b: warnings at points 3, 4 and 10 -> 2 episodes, 3 hours, in 2 days.
  std::vector<std::vector<double>> preds = {{kNone, 4 * kH, 10 * kH, 2 * kH, 1.1 * kH},
                                            std::vector<double>(48, kNone)};
  preds[1][3] = preds[1][4] = preds[1][10] = 1 * kH;
  TteScore s = ScoreTte(labels, preds);
  EXPECT_EQ(s.points, 53);
  EXPECT_EQ(s.acc_points, 5);
  EXPECT_DOUBLE_EQ(*s.acc_20pct_48h, 0.6);
  EXPECT_DOUBLE_EQ(*s.detected, 1.0);
  EXPECT_DOUBLE_EQ(*s.lead_mean_h, 4.0);
  EXPECT_DOUBLE_EQ(*s.false_warn_per_1000_series_days, 1000.0);
  EXPECT_DOUBLE_EQ(*s.false_warn_hours_per_1000_series_days, 1500.0);
  EXPECT_DOUBLE_EQ(*s.premature_warn_per_1000_series_days, 0.0);
  // Per scenario: only `flat`.
  TteScore flat = ScoreTte(labels, preds, "flat");
  EXPECT_EQ(flat.points, 48);
  EXPECT_FALSE(flat.acc_20pct_48h.has_value());
  // Missing predictions count as none: nothing detected, lead 0 h.
  TteScore none = ScoreTte(labels, {});
  EXPECT_DOUBLE_EQ(*none.acc_20pct_48h, 0.0);
  EXPECT_DOUBLE_EQ(*none.lead_mean_h, 0.0);
  EXPECT_DOUBLE_EQ(*none.false_warn_per_1000_series_days, 0.0);
}

TEST(TteScorer, BadLabelsAreNamed) {
  std::vector<TteLabel> labels;
  Status st = ParseTteLabels("series_id,limit\na,1\n", &labels);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no column"), std::string::npos);
  st = ParseTteLabels(
      "series_id,scenario,exhaust_class,limit,step_s,eval_start_ts,eval_end_ts,eval_step_s,"
      "exhaust_ts\na,s,never,lots,60,0,1,1,\n",
      &labels);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("labels:2"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace backsight::evaluate
