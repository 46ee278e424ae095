#include "backsight/traces/findings_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "backsight/traces/findings.h"
#include "span_test_util.h"

namespace backsight::traces {
namespace {

using ingest::SpanStatus;

// A request `trace` (root "r" in frontend) with `n` sequential 2 ms calls of `service`/`op`, one
// every 3 ms from `t0_ms`; the first `failures` calls fail.
std::vector<ingest::Span> Request(const std::string& trace, int64_t t0_ms, int n,
                                  const std::string& service, const std::string& op,
                                  int failures = 0) {
  std::vector<ingest::Span> out;
  out.push_back(MakeSpan(trace, "r", "", "frontend", "GET /orders", t0_ms, t0_ms + 1 + n * 3));
  for (int i = 0; i < n; ++i) {
    const int64_t s = t0_ms + 1 + i * 3;
    std::string id = "c";
    id += std::to_string(i);
    out.push_back(MakeSpan(trace, id, "r", service, op, s, s + 2,
                           i < failures ? SpanStatus::kError : SpanStatus::kOk));
  }
  return out;
}

std::string Id(const char* prefix, int i) {
  std::string id = prefix;
  id += std::to_string(i);
  return id;
}

void AddAll(FindingsDetector* d, const std::vector<ingest::Span>& spans) {
  for (const auto& s : spans) d->Add(s);
}

// Two detectors sharing one FindingsStats (as serve's trace-id shards do) score against the
// statistics of all traces and fill one retry-ratio bucket per operation and minute: the healthy
// traces in one, the N+1 trace in the other still scores 10 calls against the median of 2.
TEST(FindingsStats, DetectorsSharingItScoreAgainstAllTraces) {
  FindingsStats stats;
  FindingsDetector a(FindingsDetector::kDefaultWindowNs, FindingsDetector::kDefaultMaxTraces,
                     &stats);
  FindingsDetector b(FindingsDetector::kDefaultWindowNs, FindingsDetector::kDefaultMaxTraces,
                     &stats);
  for (int i = 0; i < 9; ++i) AddAll(&a, Request(Id("h", i), i * 100, 2, "cart", "Get"));
  AddAll(&b, Request("bad", 5000, 10, "cart", "Get"));
  // Minute 0 of pay/Charge: 1 call in a, 2 calls (1 failure, 1 retry) in b.
  AddAll(&a, Request("p1", 6000, 1, "pay", "Charge"));
  AddAll(&b, Request("p2", 7000, 2, "pay", "Charge", /*failures=*/1));
  a.Flush();
  b.Flush();
  const auto f = stats.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "n_plus_one");
  EXPECT_EQ(f[0].example_trace_id, "bad");
  EXPECT_DOUBLE_EQ(f[0].score, 5.0);   // 10 calls vs the median 2 of all 10 parents
  EXPECT_EQ(a.Findings().size(), 1u);  // a detector reads the shared findings
  std::vector<RetryRatioBucket> closed;
  stats.TakeRetryRatios(&closed, /*flush=*/true);
  ASSERT_EQ(closed.size(), 2u);  // cart/Get and pay/Charge, one bucket each
  const RetryRatioBucket& pay = closed[0].service == "pay" ? closed[0] : closed[1];
  EXPECT_EQ(pay.operation, "Charge");
  EXPECT_EQ(pay.calls, 3u);
  EXPECT_EQ(pay.retries, 1u);
  // The saved image holds both detectors' statistics.
  std::string image;
  stats.SaveState(&image);
  FindingsStats restored;
  ASSERT_TRUE(restored.RestoreState(image).ok());
  ASSERT_EQ(restored.Findings().size(), 1u);
  EXPECT_DOUBLE_EQ(restored.Findings()[0].score, 5.0);
}

// A detector's traces end by the span time of every detector sharing the statistics
// (AdvanceSpanTime), not only by its own spans.
TEST(FindingsStats, SpanTimeOfOtherShardsFinalisesQuietTraces) {
  FindingsStats stats;
  FindingsDetector a(/*window_ns=*/1'000'000'000, FindingsDetector::kDefaultMaxTraces, &stats);
  AddAll(&a, Request("bad", 0, 6, "cart", "Get"));
  a.AdvanceSpanTime(500'000'000);  // 0.5 s later: still within the window
  EXPECT_EQ(a.open_traces(), 1u);
  a.AdvanceSpanTime(2'000'000'000);
  EXPECT_EQ(a.open_traces(), 0u);
  EXPECT_EQ(stats.Findings().size(), 1u);
}

// Detectors on two threads add into one FindingsStats without losing a count.
TEST(FindingsStats, ConcurrentDetectorsCountEveryParent) {
  constexpr int kTracesPerThread = 1000;
  FindingsStats stats;
  auto run = [&stats](const char* prefix) {
    FindingsDetector d(FindingsDetector::kDefaultWindowNs, /*max_traces=*/8, &stats);
    for (int i = 0; i < kTracesPerThread; ++i) AddAll(&d, Request(Id(prefix, i), i, 6, "s", "Get"));
    d.Flush();
  };
  std::thread t1(run, "x"), t2(run, "y");
  t1.join();
  t2.join();
  const auto f = stats.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].count, 2u * kTracesPerThread);
}

}  // namespace
}  // namespace backsight::traces
