// ExhaustionTracker: pairing usage with capacity by labels (free-space and used forms), constant
// limits, `on` joins, samples without capacity, the series cap.
#include "backsight/forecast/exhaustion.h"

#include <gtest/gtest.h>

#include <string>

namespace backsight::forecast {
namespace {

constexpr int64_t kStart = 1704067200;  // 2024-01-01 00:00 UTC
constexpr int64_t kStep = 300;

TimeSeries Series(std::string name, Labels extra, int64_t t, double v) {
  TimeSeries s;
  s.labels = std::move(extra);
  s.labels.push_back({"__name__", std::move(name)});
  SortLabels(&s.labels);
  s.samples.push_back({t * kNanosPerSecond, v});
  return s;
}

TEST(ExhaustionTracker, FilesystemAvailOverSizeIsPredicted) {
  ExhaustionTracker tracker(DefaultExhaustionRules(), 100);
  const Labels fs = {{"instance", "a:9100"}, {"mountpoint", "/var"}};
  const Labels other = {{"instance", "b:9100"}, {"mountpoint", "/var"}};
  const double size = 1000;
  // /var on a fills from 30 % to full in 4 days; on b the same avail series has no size series.
  const int64_t fill = 4 * 86400;
  for (int64_t t = 0; t <= 3 * 86400; t += kStep) {
    tracker.Observe(Series("node_filesystem_size_bytes", fs, kStart + t, size));
    double used = 300 + 700.0 * t / fill;
    tracker.Observe(Series("node_filesystem_avail_bytes", fs, kStart + t, size - used));
    tracker.Observe(Series("node_filesystem_avail_bytes", other, kStart + t, size - used));
  }
  std::vector<ExhaustionStatus> snap = tracker.Snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(GetLabel(snap[0].labels, "instance"), "a:9100");
  EXPECT_EQ(snap[0].limit, size);
  EXPECT_NEAR(snap[0].used, 300 + 700.0 * 3 / 4, 1e-6);
  ASSERT_TRUE(snap[0].estimate.foreseen);
  EXPECT_NEAR(snap[0].estimate.tte_seconds, 86400, 0.1 * 86400);
  ExhaustionStats st = tracker.stats();
  EXPECT_EQ(st.series, 1u);
  EXPECT_EQ(st.samples_no_capacity, static_cast<uint64_t>(3 * 86400 / kStep + 1));
}

TEST(ExhaustionTracker, ConstantLimitAndOnJoin) {
  ExhaustionRule constant{"queue_depth", "", 500, false, {}};
  ExhaustionRule joined{"pool_busy", "pool_size", 0, false, {"pool"}};
  ASSERT_TRUE(ValidateExhaustionRule(constant).ok());
  ASSERT_TRUE(ValidateExhaustionRule(joined).ok());
  ExhaustionTracker tracker({constant, joined}, 100);
  // The capacity carries other labels than the usage: joined on `pool` only.
  tracker.Observe(Series("pool_size", {{"pool", "main"}, {"source", "config"}}, kStart, 50));
  tracker.Observe(Series("pool_busy", {{"pool", "main"}, {"instance", "x"}}, kStart, 10));
  tracker.Observe(Series("queue_depth", {{"instance", "x"}}, kStart, 10));
  std::vector<ExhaustionStatus> snap = tracker.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(GetLabel(snap[0].labels, "__name__"), "pool_busy");
  EXPECT_EQ(snap[0].limit, 50);
  EXPECT_EQ(GetLabel(snap[1].labels, "__name__"), "queue_depth");
  EXPECT_EQ(snap[1].limit, 500);
}

TEST(ExhaustionTracker, ZeroCapacityIsUnlimitedAndTheCapHolds) {
  ExhaustionTracker tracker(DefaultExhaustionRules(), 1);
  const Labels c1 = {{"container", "a"}}, c2 = {{"container", "b"}};
  tracker.Observe(Series("container_spec_memory_limit_bytes", c1, kStart, 0));
  tracker.Observe(Series("container_memory_working_set_bytes", c1, kStart, 10));
  EXPECT_EQ(tracker.stats().series, 0u);
  EXPECT_EQ(tracker.stats().samples_no_capacity, 1u);
  tracker.Observe(Series("container_spec_memory_limit_bytes", c1, kStart + 1, 100));
  tracker.Observe(Series("container_memory_working_set_bytes", c1, kStart + 1, 10));
  tracker.Observe(Series("container_spec_memory_limit_bytes", c2, kStart + 1, 100));
  tracker.Observe(Series("container_memory_working_set_bytes", c2, kStart + 1, 10));
  EXPECT_EQ(tracker.stats().series, 1u);
  EXPECT_EQ(tracker.stats().series_refused, 1u);
}

TEST(ExhaustionRules, InvalidRulesAreRefused) {
  EXPECT_FALSE(ValidateExhaustionRule({"", "cap", 0, false, {}}).ok());
  EXPECT_FALSE(ValidateExhaustionRule({"use", "", 0, false, {}}).ok());
  EXPECT_FALSE(ValidateExhaustionRule({"use", "cap", 10, false, {}}).ok());
  EXPECT_FALSE(ValidateExhaustionRule({"use", "", -1, false, {}}).ok());
  EXPECT_FALSE(ValidateExhaustionRule({"use", "use", 0, false, {}}).ok());
  for (const ExhaustionRule& r : DefaultExhaustionRules()) {
    EXPECT_TRUE(ValidateExhaustionRule(r).ok()) << r.usage_metric;
  }
}

}  // namespace
}  // namespace backsight::forecast

namespace backsight::forecast {
namespace {

TEST(ExhaustionTracker, SavedStateContinuesExactly) {
  const Labels fs = {{"instance", "a:9100"}, {"mountpoint", "/var"}};
  ExhaustionTracker a(DefaultExhaustionRules(), 100);
  auto feed = [&](ExhaustionTracker* t, int64_t from, int64_t to) {
    for (int64_t s = from; s < to; s += kStep) {
      t->Observe(Series("node_filesystem_size_bytes", fs, kStart + s, 1000));
      t->Observe(
          Series("node_filesystem_avail_bytes", fs, kStart + s, 700 - 700.0 * s / (5 * 86400)));
    }
  };
  feed(&a, 0, 3 * 86400 + 1800);
  std::string state;
  a.SaveState(&state);
  ExhaustionTracker b(DefaultExhaustionRules(), 100);
  ASSERT_TRUE(b.RestoreState(state).ok());
  // The restored tracker needs no capacity sample first: it was saved.
  for (ExhaustionTracker* t : {&a, &b}) {
    for (int64_t s = 3 * 86400 + 1800; s < 4 * 86400; s += kStep) {
      t->Observe(
          Series("node_filesystem_avail_bytes", fs, kStart + s, 700 - 700.0 * s / (5 * 86400)));
    }
  }
  std::vector<ExhaustionStatus> sa = a.Snapshot(), sb = b.Snapshot();
  ASSERT_EQ(sa.size(), 1u);
  ASSERT_EQ(sb.size(), 1u);
  EXPECT_EQ(sa[0].labels, sb[0].labels);
  ASSERT_TRUE(sa[0].estimate.foreseen);
  EXPECT_EQ(sa[0].estimate.tte_seconds, sb[0].estimate.tte_seconds);
  EXPECT_EQ(sa[0].ts, sb[0].ts);
  ExhaustionTracker c(DefaultExhaustionRules(), 100);
  EXPECT_EQ(c.RestoreState(state.substr(0, state.size() - 3)).code(), Status::Code::kCorruption);
  EXPECT_EQ(c.stats().series, 0u);
}

}  // namespace
}  // namespace backsight::forecast
