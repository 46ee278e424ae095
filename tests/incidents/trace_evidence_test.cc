// The trace evidence's words: a caller whose every call waits longer is said to hold the delay
// itself; one slow call edge is explained by its wait alone.
#include "backsight/incidents/trace_evidence.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../traces/span_test_util.h"

namespace backsight::incidents {
namespace {

using traces::AddFanOut;

TEST(TraceEvidenceTest, ACallerSlowOnEveryEdgeIsSaidToHoldTheDelay) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) {
    const int64_t j = i % 3;
    AddFanOut(&base, i, {2 + j, 2 + j, 2 + j, 2 + j});
    AddFanOut(&win, 100 + i, {100 + j, 100 + j, 100 + j, 130 + j});
  }
  const TraceLatencyEvidence ev = ComputeTraceEvidence(base, win);
  EXPECT_TRUE(ev.significant());
  // The complete traces of each period, for IncidentTracker's "enough traces" rule.
  EXPECT_EQ(ev.baseline_traces, 50u);
  EXPECT_EQ(ev.window_traces, 50u);
  EXPECT_TRUE(ev.enough_traces());
  EXPECT_FALSE(ComputeTraceEvidence({}, win).enough_traces());
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
