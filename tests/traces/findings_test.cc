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

}  // namespace
}  // namespace backsight::traces
