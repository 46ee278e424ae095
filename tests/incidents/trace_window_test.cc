// The live trace evidence's periods: the 60 s lead when the ring has enough traces before it,
// the incident's start for a service younger than that.
#include "backsight/incidents/trace_window.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "backsight/traces/attribution.h"

namespace backsight::incidents {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr TimestampNs kStart = 1'800'000'000 * kS;  // the incident's start

// A trace of a root and one child span, started at `at` (ns); ids from `id`.
void AddTrace(traces::SpanRingCopy* c, uint64_t id, TimestampNs at) {
  c->spans.push_back({id, id * 2 + 1, 0, at, at + kS / 100, 0, 1});
  c->spans.push_back({id, id * 2 + 2, id * 2 + 1, at + 1, at + kS / 200, 0, 1});
}

TEST(TraceWindowTest, KeepsTheLeadWhenEnoughTracesStartedBeforeIt) {
  traces::SpanRingCopy c;
  c.names = {"svc", "GET /"};
  // Exactly kMinBaselineTraces traces before start - 60 s, within the 10-minute baseline.
  for (uint64_t i = 0; i < traces::kMinBaselineTraces; ++i) {
    AddTrace(&c, i + 1, kStart - kTraceLeadNs - (static_cast<int64_t>(i) + 1) * kS);
  }
  AddTrace(&c, 100, kStart + kS);  // the window's
  const TracePeriods p = ChooseTracePeriods(c, kStart);
  EXPECT_FALSE(p.lead_dropped);
  EXPECT_EQ(p.split_ns, kStart - kTraceLeadNs);
  EXPECT_EQ(p.baseline_from_ns, kStart - kTraceLeadNs - kTraceBaselineNs);
  EXPECT_EQ(p.baseline_traces, traces::kMinBaselineTraces);
}

TEST(TraceWindowTest, AYoungServiceTakesItsBaselineFromBeforeTheIncident) {
  traces::SpanRingCopy c;
  c.names = {"svc", "GET /"};
  // A service up for 20 s (200 traces, one per 100 ms), plus kMinBaselineTraces - 1 traces just
  // before the lead and one older than the 10-minute baseline: too few for the lead.
  AddTrace(&c, 1, kStart - kTraceLeadNs - kTraceBaselineNs - kS);
  for (uint64_t i = 0; i < traces::kMinBaselineTraces - 1; ++i) {
    AddTrace(&c, 10 + i, kStart - kTraceLeadNs - kS);
  }
  for (uint64_t i = 0; i < 200; ++i) AddTrace(&c, 1000 + i, kStart - 20 * kS + i * kS / 10);
  const TracePeriods p = ChooseTracePeriods(c, kStart);
  EXPECT_TRUE(p.lead_dropped);
  EXPECT_EQ(p.split_ns, kStart);
  EXPECT_EQ(p.baseline_from_ns, kStart - kTraceBaselineNs);
  // The 200 young traces and the kMinBaselineTraces - 1 before the lead; child spans not counted.
  EXPECT_EQ(p.baseline_traces, 200 + traces::kMinBaselineTraces - 1);
}

TEST(TraceWindowTest, NoSpansSplitAtTheStart) {
  const TracePeriods p = ChooseTracePeriods(traces::SpanRingCopy{}, kStart);
  EXPECT_TRUE(p.lead_dropped);
  EXPECT_EQ(p.split_ns, kStart);
  EXPECT_EQ(p.baseline_traces, 0u);
}

}  // namespace
}  // namespace backsight::incidents
