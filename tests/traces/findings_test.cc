#include "backsight/traces/findings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "span_test_util.h"

namespace backsight::traces {
namespace {

using ingest::SpanStatus;

// A request `trace` (root "r" in frontend) with `n` child calls of `service`/`op`, each 2 ms long,
// starting every `step_ms` from `t0_ms`; the first `failures` calls fail.
std::vector<ingest::Span> Request(const std::string& trace, int64_t t0_ms, int n,
                                  const std::string& service, const std::string& op,
                                  int64_t step_ms = 3, int failures = 0) {
  std::vector<ingest::Span> out;
  out.push_back(
      MakeSpan(trace, "r", "", "frontend", "GET /orders", t0_ms, t0_ms + 1 + n * step_ms));
  for (int i = 0; i < n; ++i) {
    const int64_t s = t0_ms + 1 + i * step_ms;
    std::string id = "c";  // not "c" + ...: GCC 12 -Wrestrict false positive
    id += std::to_string(i);
    out.push_back(MakeSpan(trace, id, "r", service, op, s, s + 2,
                           i < failures ? SpanStatus::kError : SpanStatus::kOk));
  }
  return out;
}

// prefix + i (appended: `Id("h", i)` trips a GCC 12 -Wrestrict false positive).
std::string Id(const char* prefix, int i) {
  std::string id = prefix;
  id += std::to_string(i);
  return id;
}

void AddAll(FindingsDetector* d, const std::vector<ingest::Span>& spans) {
  for (const auto& s : spans) d->Add(s);
}

TEST(NormalizeSqlStatement, MasksLiteralsAndInLists) {
  EXPECT_EQ(NormalizeSqlStatement("SELECT * FROM orders  WHERE id = 7 AND name = 'O''Brien'"),
            "SELECT * FROM orders WHERE id = ? AND name = ?");
  EXPECT_EQ(NormalizeSqlStatement("select a1 from t where x in (1, 2,3) and y = $1"),
            "select a1 from t where x in (?) and y = $1");
  EXPECT_EQ(NormalizeSqlStatement("SELECT 3.5e2 FROM t WHERE k IN ('a','b')"),
            "SELECT ? FROM t WHERE k IN (?)");
}

TEST(FindingsDetector, FindsNPlusOneQueriesByNormalisedStatement) {
  FindingsDetector d;
  // Healthy requests: one query each; then one request loops over 12 ids.
  for (int i = 0; i < 10; ++i) AddAll(&d, Request(Id("h", i), i * 100, 1, "db", "q"));
  auto loop = Request("bad", 2000, 12, "orders-db", "SELECT");
  for (size_t i = 1; i < loop.size(); ++i) {
    loop[i].attributes.push_back(
        {"db.statement", "SELECT * FROM items WHERE order_id = " + std::to_string(i * 7)});
  }
  AddAll(&d, loop);
  d.Flush();
  auto f = d.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "n_plus_one");
  EXPECT_EQ(f[0].service, "orders-db");
  EXPECT_EQ(f[0].operation, "SELECT * FROM items WHERE order_id = ?");
  EXPECT_EQ(f[0].example_trace_id, "bad");
  // Only this parent runs the statement: 12 calls against a median of 12, so not above normal.
  EXPECT_DOUBLE_EQ(f[0].score, 1.0);
  EXPECT_NE(f[0].explanation.find("12 sequential calls"), std::string::npos) << f[0].explanation;
}

// The OpenTelemetry JS SDK writes start times in whole milliseconds: an awaited call may "start"
// a fraction of a millisecond before its predecessor ended, and is still sequential.
TEST(FindingsDetector, NPlusOneToleratesMillisecondStartTimes) {
  FindingsDetector d;
  auto loop = Request("js", 0, 6, "shop", "SELECT", /*step_ms=*/2);
  for (size_t i = 2; i < loop.size(); ++i) loop[i].start_ns -= 400'000;
  AddAll(&d, loop);
  d.Flush();
  auto f = d.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "n_plus_one");
}

TEST(FindingsDetector, ScoresAgainstTheMedianOfTheOperation) {
  FindingsDetector d;
  for (int i = 0; i < 9; ++i) AddAll(&d, Request(Id("h", i), i * 100, 2, "cart", "Get"));
  AddAll(&d, Request("bad", 5000, 10, "cart", "Get"));
  d.Flush();
  auto f = d.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "n_plus_one");
  EXPECT_EQ(f[0].operation, "Get");
  EXPECT_DOUBLE_EQ(f[0].score, 5.0);  // 10 calls vs a median of 2
}

TEST(FindingsDetector, HealthyAndParallelCallsAreNotFindings) {
  FindingsDetector d;
  AddAll(&d, Request("two", 0, 2, "cart", "Get"));
  // A fan-out: 8 overlapping calls (each 2 ms, one every 1 ms).
  AddAll(&d, Request("fanout", 100, 8, "ads", "Get", /*step_ms=*/1));
  // One failure and a successful retry is normal client behaviour.
  AddAll(&d, Request("retry", 200, 2, "pay", "Charge", 3, /*failures=*/1));
  d.Flush();
  EXPECT_TRUE(d.Findings().empty());
}

TEST(FindingsDetector, FindsARetryStorm) {
  FindingsDetector d;
  AddAll(&d, Request("ok", 0, 1, "pay", "Charge"));
  AddAll(&d, Request("storm", 100, 6, "pay", "Charge", 3, /*failures=*/5));
  d.Flush();
  auto f = d.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "retry_storm");
  EXPECT_EQ(f[0].service, "pay");
  EXPECT_EQ(f[0].operation, "Charge");
  EXPECT_EQ(f[0].example_trace_id, "storm");
  EXPECT_DOUBLE_EQ(f[0].score, 5.0);  // 5 calls after a failure vs a median of 0 (taken as 1)
}

TEST(FindingsDetector, FinalisesTracesAfterTheWindowAndUnderTheCap) {
  FindingsDetector d(/*window_ns=*/1'000'000'000, /*max_traces=*/3);
  AddAll(&d, Request("bad", 0, 6, "cart", "Get"));
  EXPECT_EQ(d.open_traces(), 1u);
  EXPECT_TRUE(d.Findings().empty());  // not finalised yet
  AddAll(&d, Request("later", 5000, 1, "cart", "Get"));
  EXPECT_EQ(d.open_traces(), 1u);  // "bad" finalised by span time
  ASSERT_EQ(d.Findings().size(), 1u);
  for (int i = 0; i < 5; ++i) AddAll(&d, Request(Id("x", i), 5001, 1, "cart", "Get"));
  EXPECT_LE(d.open_traces(), 3u);
  EXPECT_EQ(d.traces_finalised_early(), 3u);
}

// A request through frontend -> api -> `leaf` (db); the leaf call fails when `fail`, and the
// error shows upstream in api and frontend when `cascade`.
std::vector<ingest::Span> Chain(const std::string& trace, int64_t t0_ms, bool fail, bool cascade,
                                const std::string& leaf = "orders-db") {
  const SpanStatus leaf_status = fail ? SpanStatus::kError : SpanStatus::kOk;
  const SpanStatus up = fail && cascade ? SpanStatus::kError : SpanStatus::kOk;
  return {MakeSpan(trace, "f", "", "frontend", "GET /checkout", t0_ms, t0_ms + 20, up),
          MakeSpan(trace, "a", "f", "api", "PlaceOrder", t0_ms + 1, t0_ms + 18, up),
          // an erring span of the origin's own service is not "upstream"
          MakeSpan(trace, "a2", "a", "orders-db", "tx", t0_ms + 2, t0_ms + 16, leaf_status),
          MakeSpan(trace, "d", "a2", leaf, "INSERT", t0_ms + 2, t0_ms + 15, leaf_status)};
}

TEST(FindingsDetector, FindsAnErrorCascadeAtItsOrigin) {
  FindingsDetector d;
  for (int i = 0; i < 6; ++i) AddAll(&d, Chain(Id("ok", i), i * 100, false, false));
  for (int i = 0; i < 4; ++i) {  // failed, handled in api
    AddAll(&d, Chain(Id("contained", i), 500 + i * 50, true, false));
  }
  AddAll(&d, Chain("c1", 800, true, true));
  AddAll(&d, Chain("c2", 900, true, true));
  d.Flush();
  auto f = d.Findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, "error_cascade");
  EXPECT_EQ(f[0].service, "orders-db");
  EXPECT_EQ(f[0].operation, "INSERT");  // the origin, not the erring "tx" above it
  EXPECT_EQ(f[0].upstream_services, (std::vector<std::string>{"api", "frontend"}));
  EXPECT_EQ(f[0].count, 2u);
  EXPECT_EQ(f[0].example_trace_id, "c1");
  // 2 services reached against a median of 0 (taken as 1) over the 6 errors (0, 0, 0, 0, 2, 2).
  EXPECT_DOUBLE_EQ(f[0].score, 2.0);
  EXPECT_EQ(f[0].first_seen_ns, 802'000'000);
  EXPECT_EQ(f[0].last_seen_ns, 902'000'000);
  EXPECT_NE(f[0].explanation.find("api, frontend"), std::string::npos) << f[0].explanation;
}

TEST(FindingsDetector, AContainedOrLateErrorIsNoCascade) {
  FindingsDetector d;
  AddAll(&d, Chain("contained", 0, true, false));
  auto late = Chain("late", 100, true, true);
  late[0].end_ns += FindingsDetector::kMaxCascadeDelayNs;  // frontend failed 10 s later
  late[1].status = SpanStatus::kOk;
  AddAll(&d, late);
  // The failed call's own client span errs; the frontend recovered: no service failed upstream.
  auto retried = Chain("retried", 200, true, true);
  retried[0].status = SpanStatus::kOk;
  retried[1].kind = ingest::SpanKind::kClient;
  AddAll(&d, retried);
  d.Flush();
  EXPECT_TRUE(d.Findings().empty());
}

TEST(FindingsDetector, RetryRatioPerBucketOfChildOperations) {
  FindingsDetector d;
  // Minute 0: two parents call pay/Charge, one with 1 failure + 1 retry: 3 calls, 1 retry.
  AddAll(&d, Request("a", 0, 1, "pay", "Charge"));
  AddAll(&d, Request("b", 1000, 2, "pay", "Charge", 3, /*failures=*/1));
  // Minute 1: 4 calls, 3 of them after failures.
  AddAll(&d, Request("c", 61'000, 4, "pay", "Charge", 3, /*failures=*/3));
  d.Flush();
  std::vector<RetryRatioBucket> closed;
  d.TakeRetryRatios(&closed);
  ASSERT_EQ(closed.size(), 1u);  // minute 1 is still open
  EXPECT_EQ(closed[0].service, "pay");
  EXPECT_EQ(closed[0].operation, "Charge");
  EXPECT_EQ(closed[0].bucket_start_ns, 0);
  EXPECT_EQ(closed[0].calls, 3u);
  EXPECT_EQ(closed[0].retries, 1u);
  closed.clear();
  d.TakeRetryRatios(&closed, /*flush=*/true);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].bucket_start_ns, 60'000'000'000);
  EXPECT_DOUBLE_EQ(closed[0].ratio(), 0.75);
}

TEST(FindingsDetector, QuietTracesAreFinalisedByArrivalTime) {
  FindingsDetector d(/*window_ns=*/1'000'000'000);
  for (const auto& s : Request("bad", 0, 6, "cart", "Get")) d.Add(s, /*arrival_ns=*/5);
  d.ExpireQuiet(5 + 999'999'999);
  EXPECT_EQ(d.open_traces(), 1u);
  d.ExpireQuiet(5 + 1'000'000'001);
  EXPECT_EQ(d.open_traces(), 0u);
  ASSERT_EQ(d.Findings().size(), 1u);
  EXPECT_EQ(d.finalised_traces(), 1u);
}

TEST(FindingsDetector, KeepsAtMostMaxFindingsForgettingTheLeastRecent) {
  FindingsDetector d(FindingsDetector::kDefaultWindowNs, FindingsDetector::kDefaultMaxTraces,
                     /*max_findings=*/2);
  for (int i = 0; i < 3; ++i) {
    AddAll(&d, Request(Id("t", i), i * 100, 6, Id("s", i), "Get"));
    d.Flush();
  }
  auto f = d.Findings();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_NE(f[0].service, "s0");
  EXPECT_NE(f[1].service, "s0");
  EXPECT_EQ(d.evicted_findings(), 1u);
}

TEST(FindingsDetector, StateRoundTripsAndDamageIsCorruption) {
  FindingsDetector d;
  for (int i = 0; i < 4; ++i) AddAll(&d, Chain(Id("contained", i), i * 50, true, false));
  AddAll(&d, Chain("c1", 800, true, true));
  AddAll(&d, Request("storm", 1000, 6, "pay", "Charge", 3, /*failures=*/5));
  d.Flush();
  std::string state;
  d.SaveState(&state);
  FindingsDetector e;
  ASSERT_TRUE(e.RestoreState(state).ok());
  auto want = d.Findings(), got = e.Findings();
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].kind, want[i].kind);
    EXPECT_EQ(got[i].service, want[i].service);
    EXPECT_EQ(got[i].operation, want[i].operation);
    EXPECT_EQ(got[i].score, want[i].score);
    EXPECT_EQ(got[i].count, want[i].count);
    EXPECT_EQ(got[i].example_trace_id, want[i].example_trace_id);
    EXPECT_EQ(got[i].first_seen_ns, want[i].first_seen_ns);
    EXPECT_EQ(got[i].last_seen_ns, want[i].last_seen_ns);
    EXPECT_EQ(got[i].upstream_services, want[i].upstream_services);
    EXPECT_EQ(got[i].explanation, want[i].explanation);
  }
  std::string again;
  e.SaveState(&again);
  EXPECT_EQ(again, state);
  // The statistics came back too: the restored detector scores new traces against them.
  AddAll(&e, Request("storm2", 5000, 8, "pay", "Charge", 3, /*failures=*/7));
  e.Flush();
  for (const auto& f : e.Findings()) {
    // 7 retries against the median of (5, 7); a fresh detector would say 7 / 7.
    if (f.kind == "retry_storm") {
      EXPECT_DOUBLE_EQ(f.score, 7.0 / 5.0);
    }
  }

  for (size_t cut = 0; cut < state.size(); ++cut) {
    FindingsDetector f;
    EXPECT_EQ(f.RestoreState(state.substr(0, cut)).code(), Status::Code::kCorruption) << cut;
    EXPECT_TRUE(f.Findings().empty());
  }
  EXPECT_FALSE(FindingsDetector().RestoreState(state + "x").ok());
}

}  // namespace
}  // namespace backsight::traces
