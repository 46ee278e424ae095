#include "backsight/outputs/anomaly_intervals.h"

#include <gtest/gtest.h>

namespace backsight::outputs {
namespace {

TEST(AnomalyIntervalTrackerTest, GroupsConsecutiveAnomalousRows) {
  AnomalyIntervalTracker t;
  // Rows at t = 0..9: anomalies at 2,3,4 (peak at 3) and at 7, and an open run at 9.
  const bool anomalous[] = {false, false, true, true, true, false, false, true, false, true};
  const double score[] = {0.1, 0.2, 1.5, 3.0, 1.2, 0.3, 0.4, 2.0, 0.5, 1.1};
  for (int i = 0; i < 10; ++i) t.Add(i * 100, score[i], anomalous[i]);
  ASSERT_EQ(t.intervals().size(), 2u);
  EXPECT_TRUE(t.open());
  t.Finish();
  EXPECT_FALSE(t.open());
  ASSERT_EQ(t.intervals().size(), 3u);
  const AnomalyInterval& a = t.intervals()[0];
  EXPECT_EQ(a.start_ns, 200);
  EXPECT_EQ(a.end_ns, 400);
  EXPECT_DOUBLE_EQ(a.peak_score, 3.0);
  EXPECT_EQ(a.peak_ns, 300);
  EXPECT_EQ(a.rows, 3u);
  const AnomalyInterval& b = t.intervals()[1];
  EXPECT_EQ(b.start_ns, 700);
  EXPECT_EQ(b.end_ns, 700);
  EXPECT_EQ(b.rows, 1u);
  EXPECT_EQ(t.intervals()[2].start_ns, 900);
  EXPECT_EQ(t.anomalous_rows(), 5u);
}

TEST(AnomalyIntervalTrackerTest, NoAnomaliesNoIntervals) {
  AnomalyIntervalTracker t;
  for (int i = 0; i < 5; ++i) t.Add(i, 0.5, false);
  t.Finish();
  t.Finish();  // idempotent
  EXPECT_TRUE(t.intervals().empty());
  EXPECT_EQ(t.anomalous_rows(), 0u);
}

TEST(AnomalyIntervalTrackerTest, PeakIsFirstRowWithTheMaximum) {
  AnomalyIntervalTracker t;
  t.Add(10, 2.0, true);
  t.Add(20, 2.0, true);
  t.Add(30, 1.5, true);
  t.Finish();
  ASSERT_EQ(t.intervals().size(), 1u);
  EXPECT_EQ(t.intervals()[0].peak_ns, 10);
  EXPECT_EQ(t.intervals()[0].end_ns, 30);
}

TEST(TopIntervalsByPeakTest, HighestPeakFirstTiesByTime) {
  std::vector<AnomalyInterval> ivs;
  const double peaks[] = {1.2, 5.0, 1.7, 5.0, 3.1, 1.01};
  for (int i = 0; i < 6; ++i) ivs.push_back(AnomalyInterval{i * 10, i * 10, peaks[i], i * 10, 1});
  const auto top = TopIntervalsByPeak(ivs, 4);
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].start_ns, 10);  // 5.0, earlier of the two
  EXPECT_EQ(top[1].start_ns, 30);  // 5.0
  EXPECT_EQ(top[2].start_ns, 40);  // 3.1
  EXPECT_EQ(top[3].start_ns, 20);  // 1.7
  EXPECT_EQ(TopIntervalsByPeak(ivs, 100).size(), 6u);
  EXPECT_TRUE(TopIntervalsByPeak({}, 10).empty());
}

}  // namespace
}  // namespace backsight::outputs
