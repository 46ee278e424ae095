#include "backsight/traces/red_aggregator.h"

#include <gtest/gtest.h>

#include "span_test_util.h"

namespace backsight::traces {
namespace {

TEST(LatencyHistogram, QuantilesWithinBucketError) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.Add(int64_t{i} * 1'000'000);  // 1..1000 ms
  EXPECT_NEAR(h.Quantile(0.5), 500e6, 500e6 * 0.0625);
  EXPECT_NEAR(h.Quantile(0.99), 990e6, 990e6 * 0.0625);
  EXPECT_NEAR(h.Quantile(1.0), 1000e6, 1000e6 * 0.0625);
  EXPECT_EQ(h.CumulativeExplicit(4), 10u);  // <= 10 ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(LatencyHistogram().Quantile(0.5), 0);
}

TEST(RedAggregator, RowsAndSpanMetricsNames) {
  RedAggregator red;
  red.Add(MakeSpan("t", "a", "", "cart", "GetCart", 0, 3));
  red.Add(MakeSpan("t", "b", "", "cart", "GetCart", 1000, 1300, ingest::SpanStatus::kError));
  red.Add(MakeSpan("t", "c", "", "ad", "GetAds", 2000, 2001));
  auto rows = red.Rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].service, "cart");
  EXPECT_EQ(rows[1].calls, 2u);
  EXPECT_EQ(rows[1].errors, 1u);
  EXPECT_NEAR(rows[1].rate_per_s, 1.0, 1e-9);  // 2 calls over the 2 s of span starts
  EXPECT_NEAR(rows[1].p99_ms, 300, 300 * 0.0625);
  std::string text;
  red.WritePrometheus(&text);
  EXPECT_NE(text.find("traces_span_metrics_calls_total{service_name=\"cart\",span_name=\"GetCart\","
                      "span_kind=\"SPAN_KIND_UNSPECIFIED\",status_code=\"STATUS_CODE_ERROR\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("traces_span_metrics_duration_seconds_bucket{service_name=\"cart\","
                      "span_name=\"GetCart\",span_kind=\"SPAN_KIND_UNSPECIFIED\","
                      "status_code=\"STATUS_CODE_UNSET\",le=\"0.004\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(RedAggregator, SeriesCapDropsAndCounts) {
  RedAggregator red(1);
  red.Add(MakeSpan("t", "a", "", "cart", "GetCart", 0, 3));
  red.Add(MakeSpan("t", "b", "", "ad", "GetAds", 0, 3));
  EXPECT_EQ(red.series(), 1u);
  EXPECT_EQ(red.dropped_spans(), 1u);
  std::string text;
  red.WritePrometheus(&text);
  EXPECT_NE(text.find("\nbacksight_traces_red_dropped_spans_total 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace backsight::traces
