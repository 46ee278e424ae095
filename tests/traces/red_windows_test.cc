#include "backsight/traces/red_windows.h"

#include <gtest/gtest.h>

#include "span_test_util.h"

namespace backsight::traces {
namespace {

TEST(RedWindows, ClosesABucketWhenTheNextBeginsAndOnFlush) {
  RedWindows w(/*bucket_ns=*/60'000'000'000);
  std::vector<RedBucket> closed;
  for (int i = 0; i < 100; ++i) {
    w.Add(MakeSpan("t", "s", "", "cart", "Get", i * 100, i * 100 + (i == 99 ? 500 : 5),
                   i % 10 ? ingest::SpanStatus::kOk : ingest::SpanStatus::kError),
          &closed);
  }
  w.Add(MakeSpan("t", "s", "", "ad", "Ads", 0, 1), &closed);
  EXPECT_TRUE(closed.empty());
  w.Add(MakeSpan("t", "s", "", "cart", "Get", 61'000, 61'005), &closed);  // next minute
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].service, "cart");
  EXPECT_EQ(closed[0].bucket_start_ns, 0);
  EXPECT_EQ(closed[0].calls, 100u);
  EXPECT_EQ(closed[0].errors, 10u);
  EXPECT_NEAR(closed[0].p99_seconds, 0.005, 0.005 * 0.0625);
  w.Add(MakeSpan("t", "s", "", "cart", "Get", 100, 200), &closed);  // older than the open bucket
  EXPECT_EQ(w.late_spans(), 1u);
  closed.clear();
  w.Flush(60'000'000'000, &closed);  // closes ad's minute 0, not cart's minute 1
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].service, "ad");
  EXPECT_EQ(w.open_operations(), 1u);
}

TEST(RedWindows, OperationCap) {
  RedWindows w(60'000'000'000, 1);
  std::vector<RedBucket> closed;
  w.Add(MakeSpan("t", "s", "", "cart", "Get", 0, 1), &closed);
  w.Add(MakeSpan("t", "s", "", "ad", "Ads", 0, 1), &closed);
  EXPECT_EQ(w.dropped_spans(), 1u);
}

}  // namespace
}  // namespace backsight::traces
