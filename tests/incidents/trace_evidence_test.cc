// The trace evidence's words: a caller whose every call waits longer is said to hold the delay
// itself; one slow call edge is explained by its wait alone.
#include "backsight/incidents/trace_evidence.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../traces/span_test_util.h"

namespace backsight::incidents {
namespace {

using traces::MakeSpan;

// One request: frontend calls four callees through client stubs, one after another; `wait_ms[k]`
// is the client-side time around callee k's 3 ms server span.
void AddFanOut(std::vector<ingest::Span>* out, int i, const int64_t (&wait_ms)[4]) {
  static const char* const kCallees[4] = {"ads", "cart", "catalog", "shipping"};
  std::string t = "f";
  t += std::to_string(i);
  int64_t at = i * 10000;
  const int64_t t0 = at;
  for (int k = 0; k < 4; ++k) {
    const std::string stub = std::string("stub") + kCallees[k];
    out->push_back(MakeSpan(t, stub, "root", "frontend", std::string(kCallees[k]) + "/Get", at + 1,
                            at + 1 + 3 + wait_ms[k]));
    out->push_back(MakeSpan(t, std::string("srv") + kCallees[k], stub, kCallees[k],
                            std::string(kCallees[k]) + "/Get", at + 1 + wait_ms[k] / 2,
                            at + 1 + wait_ms[k] / 2 + 3));
    at += 1 + 3 + wait_ms[k];
  }
  out->push_back(MakeSpan(t, "root", "", "frontend", "GET /", t0, at + 1));
}

TEST(TraceEvidenceTest, ACallerSlowOnEveryEdgeIsSaidToHoldTheDelay) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) {
    const int64_t j = i % 3;
    AddFanOut(&base, i, {2 + j, 2 + j, 2 + j, 2 + j});
    AddFanOut(&win, 100 + i, {100 + j, 100 + j, 100 + j, 130 + j});
  }
  const TraceLatencyEvidence ev = ComputeTraceEvidence(base, win);
  EXPECT_TRUE(ev.significant());
  ASSERT_TRUE(ev.services.count("frontend"));
  const std::string& why = ev.services.at("frontend").explanation;
  EXPECT_EQ(why.rfind("frontend waits longer on 4 of its 4 callees (shipping, ", 0), 0u) << why;
  EXPECT_NE(why.find("so the delay is on frontend's side"), std::string::npos) << why;
}

TEST(TraceEvidenceTest, OneSlowEdgeIsExplainedByItsWait) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) {
    const int64_t j = i % 3;
    AddFanOut(&base, i, {2 + j, 2 + j, 2 + j, 2 + j});
    AddFanOut(&win, 100 + i, {2 + j, 100 + j, 2 + j, 2 + j});
  }
  const TraceLatencyEvidence ev = ComputeTraceEvidence(base, win);
  ASSERT_TRUE(ev.services.count("cart"));
  const std::string& why = ev.services.at("cart").explanation;
  EXPECT_EQ(why.rfind("frontend waiting on cart in cart/Get", 0), 0u) << why;
  EXPECT_EQ(why.find("waits longer on"), std::string::npos) << why;
}

}  // namespace
}  // namespace backsight::incidents
