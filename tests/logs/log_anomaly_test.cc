#include "backsight/logs/log_anomaly.h"

#include <gtest/gtest.h>

namespace backsight::logs {
namespace {

constexpr int64_t kSec = kNanosPerSecond;

TEST(LevelClassTest, Words) {
  EXPECT_EQ(LevelClass("ERROR"), 2);
  EXPECT_EQ(LevelClass("fatal"), 2);
  EXPECT_EQ(LevelClass("E"), 2);
  EXPECT_EQ(LevelClass("Warning"), 1);
  EXPECT_EQ(LevelClass("INFO"), 0);
  EXPECT_EQ(LevelClass(""), 0);
}

TEST(LogAnomalyTest, NewTemplateAfterWarmupIsFlagged) {
  LogAnomalyOptions o;
  o.warmup_lines = 100;
  LogAnomalyScorer s(o);
  for (int i = 0; i < 200; ++i) {
    LineScores r = s.Observe(i * kSec, 1 + i % 3, 0);
    EXPECT_FALSE(r.is_anomaly) << i;
  }
  LineScores r = s.Observe(200 * kSec, 99, 0);
  EXPECT_TRUE(r.is_anomaly);
  EXPECT_STREQ(r.reason, "new");
  EXPECT_DOUBLE_EQ(r.new_score, 2.0);
  EXPECT_GT(r.rare_score, 0.0);
  ASSERT_NE(s.Activity(99), nullptr);
  EXPECT_EQ(s.Activity(99)->first_seen_ns, 200 * kSec);
  // The next two lines of the new template still stand out; from the fourth on it fades below 1.
  EXPECT_GT(s.Observe(201 * kSec, 99, 0).new_score, 1.0);
  EXPECT_GT(s.Observe(202 * kSec, 99, 0).new_score, 1.0);
  EXPECT_LE(s.Observe(203 * kSec, 99, 0).new_score, 1.0);
  // Long after the novelty window the same template is no longer new.
  LineScores later = s.Observe(200 * kSec + o.novelty_window_ns + kSec, 99, 0);
  EXPECT_DOUBLE_EQ(later.new_score, 0.0);
}

TEST(LogAnomalyTest, TemplatesSeenDuringWarmupAreNotNew) {
  LogAnomalyOptions o;
  o.warmup_lines = 10;
  LogAnomalyScorer s(o);
  s.Observe(0, 5, 0);
  for (int i = 1; i < 50; ++i) s.Observe(i * kSec, 1, 0);
  EXPECT_DOUBLE_EQ(s.Observe(50 * kSec, 5, 0).new_score, 0.0);
}

TEST(LogAnomalyTest, RateSurgeAgainstOwnNormal) {
  LogAnomalyScorer s;
  int64_t t = 0;
  // 2 lines per minute for an hour.
  for (int m = 0; m < 60; ++m) {
    for (int k = 0; k < 2; ++k) {
      LineScores r = s.Observe(t + m * 60 * kSec + k * kSec, 7, 0);
      EXPECT_LT(r.rate_score, 1.0) << m;
    }
  }
  // Then 40 lines in one minute.
  LineScores last;
  for (int k = 0; k < 40; ++k) last = s.Observe(t + 60 * 60 * kSec + k * kSec, 7, 0);
  EXPECT_GT(last.rate_score, 1.0);
  EXPECT_TRUE(last.is_anomaly);
  EXPECT_STREQ(last.reason, "rate");
}

// A steady log, one line per second of one template for 10 hours, starting 3 s into a minute,
// so that its last one-minute bucket is cut by the end of input after 3 lines. `quiet_minute` >= 0
// gives that minute only 5 lines (a real collapse). Returns the rate events of template 1.
constexpr int64_t kSteadyStartSec = 1'699'999'983;  // 3 s past a minute boundary
std::vector<TemplateRateEvent> SteadyLogRateEvents(int quiet_minute) {
  LogAnomalyScorer s;
  const int64_t start = kSteadyStartSec * kSec;
  constexpr int kSeconds = 10 * 3600;
  for (int i = 0; i < kSeconds; ++i) {
    const int64_t ts = start + i * kSec;
    if (quiet_minute >= 0 && (ts / (60 * kSec)) == start / (60 * kSec) + quiet_minute &&
        (ts / kSec) % 12 != 0) {
      continue;
    }
    s.Observe(ts, 1, 0);
  }
  s.Finish();
  std::vector<TemplateRateEvent> events;
  for (const TemplateRateEvent& e : s.rate_events()) {
    if (e.template_id == 1) events.push_back(e);
  }
  return events;
}

TEST(LogAnomalyTest, PartialLastBucketIsNoCollapse) {
  std::vector<TemplateRateEvent> events = SteadyLogRateEvents(-1);
  for (const TemplateRateEvent& e : events) {
    ADD_FAILURE() << "rate event at " << e.bucket_start_ns << " count " << e.count << " score "
                  << e.anomaly_score;
  }
}

TEST(LogAnomalyTest, CollapseInsideTheFileIsReported) {
  constexpr int kQuietMinute = 540;  // hour 9, after the detector's warm-up
  const int64_t quiet_start = (kSteadyStartSec / 60 + kQuietMinute) * 60 * kSec;
  std::vector<TemplateRateEvent> events = SteadyLogRateEvents(kQuietMinute);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].bucket_start_ns, quiet_start);
  EXPECT_EQ(events[0].count, 5u);
  EXPECT_GT(events[0].anomaly_score, 1.0);
  // The partial last bucket is still not reported.
  for (const TemplateRateEvent& e : events) EXPECT_LT(e.bucket_start_ns, quiet_start + 3600 * kSec);
}

TEST(LogAnomalyTest, ErrorSurge) {
  LogAnomalyScorer s;
  for (int m = 0; m < 60; ++m) {
    for (int k = 0; k < 10; ++k) s.Observe(m * 60 * kSec + k * kSec, 1 + k, k == 0 ? 2 : 0);
  }
  LineScores last;
  for (int k = 0; k < 30; ++k) last = s.Observe(60 * 60 * kSec + k * kSec, 1 + k % 10, 2);
  EXPECT_GT(last.level_score, 1.0);
}

TEST(LogAnomalyTest, ErrorBurstDuringTemplateWarmupIsFlagged) {
  // The line-window level test needs only a window's worth of history, not the template warm-up
  // (500 lines): 150 lines with 1 error in 30, then a burst of 30 errors.
  LogAnomalyScorer s;
  for (int i = 0; i < 150; ++i) {
    LineScores r = s.Observe(i * 3600 * kSec, 1 + i % 5, i % 30 == 0 ? 2 : 0);
    EXPECT_LT(r.level_score, 1.0) << i;
  }
  LineScores last;
  for (int k = 0; k < 30; ++k) last = s.Observe((150 + k) * 3600 * kSec, 9, 2);
  EXPECT_GT(last.level_score, 1.0);
  EXPECT_STREQ(last.reason, "level");
  // Too little history (fewer than two windows of lines): no level score at all.
  LogAnomalyScorer fresh;
  for (int k = 0; k < 60; ++k) EXPECT_EQ(fresh.Observe(k * kSec, 9, 2).level_score, 0.0);
}

TEST(LogAnomalyTest, OutOfOrderTimeIsClampedAndForgetDropsState) {
  LogAnomalyScorer s;
  s.Observe(100 * kSec, 1, 0);
  s.Observe(50 * kSec, 2, 0);  // clamped to 100 s
  ASSERT_NE(s.Activity(2), nullptr);
  EXPECT_EQ(s.Activity(2)->first_seen_ns, 100 * kSec);
  s.Forget(2);
  EXPECT_EQ(s.Activity(2), nullptr);
  s.Finish();
  EXPECT_EQ(s.lines(), 2u);
}

}  // namespace
}  // namespace backsight::logs
