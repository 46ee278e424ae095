// The live trace evidence's periods, per entry operation: the 60 s lead when the ring has enough
// of its traces before it, the incident's start for an entry operation younger than that (also
// next to a busy one); traces go whole to the period of their root's start.
#include "backsight/incidents/trace_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "backsight/traces/attribution.h"

namespace backsight::incidents {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr TimestampNs kStart = 1'800'000'000 * kS;  // the incident's start
// Name-table indexes of the copies below: two services and their entry operations.
constexpr uint32_t kShop = 0, kGetRoot = 1, kBilling = 2, kPostRefund = 3;

traces::SpanRingCopy Copy() {
  traces::SpanRingCopy c;
  c.names = {"shop", "GET /", "billing", "POST /refund"};
  return c;
}

// A trace of a root span of (service, name) and one child span, started at `at` (ns); ids from
// `id`.
void AddTrace(traces::SpanRingCopy* c, uint64_t id, TimestampNs at, uint32_t service = kShop,
              uint32_t name = kGetRoot) {
  c->spans.push_back({id, id * 2 + 1, 0, at, at + kS / 100, service, name});
  c->spans.push_back({id, id * 2 + 2, id * 2 + 1, at + 1, at + kS / 200, service, name});
}

TEST(TraceWindowTest, KeepsTheLeadWhenEnoughTracesStartedBeforeIt) {
  traces::SpanRingCopy c = Copy();
  // Exactly kMinBaselineTraces traces before start - 60 s, within the 10-minute baseline.
  for (uint64_t i = 0; i < traces::kMinBaselineTraces; ++i) {
    AddTrace(&c, i + 1, kStart - kTraceLeadNs - (static_cast<int64_t>(i) + 1) * kS);
  }
  AddTrace(&c, 100, kStart + kS);  // the window's
  const std::vector<EntryPeriods> e = ChooseTracePeriods(c, kStart);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].service, kShop);
  EXPECT_EQ(e[0].name, kGetRoot);
  const TracePeriods& p = e[0].periods;
  EXPECT_FALSE(p.lead_dropped);
  EXPECT_EQ(p.split_ns, kStart - kTraceLeadNs);
  EXPECT_EQ(p.baseline_from_ns, kStart - kTraceLeadNs - kTraceBaselineNs);
  EXPECT_EQ(p.baseline_traces, traces::kMinBaselineTraces);
}

TEST(TraceWindowTest, AYoungServiceTakesItsBaselineFromBeforeTheIncident) {
  traces::SpanRingCopy c = Copy();
  // A service up for 20 s (200 traces, one per 100 ms), plus kMinBaselineTraces - 1 traces just
  // before the lead and one older than the 10-minute baseline: too few for the lead.
  AddTrace(&c, 1, kStart - kTraceLeadNs - kTraceBaselineNs - kS);
  for (uint64_t i = 0; i < traces::kMinBaselineTraces - 1; ++i) {
    AddTrace(&c, 10 + i, kStart - kTraceLeadNs - kS);
  }
  for (uint64_t i = 0; i < 200; ++i) AddTrace(&c, 1000 + i, kStart - 20 * kS + i * kS / 10);
  const std::vector<EntryPeriods> e = ChooseTracePeriods(c, kStart);
  ASSERT_EQ(e.size(), 1u);
  const TracePeriods& p = e[0].periods;
  EXPECT_TRUE(p.lead_dropped);
  EXPECT_EQ(p.split_ns, kStart);
  EXPECT_EQ(p.baseline_from_ns, kStart - kTraceBaselineNs);
  // The 200 young traces and the kMinBaselineTraces - 1 before the lead; child spans not counted.
  EXPECT_EQ(p.baseline_traces, 200 + traces::kMinBaselineTraces - 1);
}

// A busy entry operation (shop GET /, a trace a second for 10 minutes) keeps the lead; a new
// low-traffic one next to it (billing POST /refund, deployed 30 s before the incident, 6 traces
// since) gets its own split at the start: its traces before the incident are its baseline, not
// its window. Counted over all services, the busy one's traces chose the lead for both.
TEST(TraceWindowTest, ANewEntryPointNextToABusyOneGetsItsOwnSplit) {
  traces::SpanRingCopy c = Copy();
  for (uint64_t i = 0; i < 660; ++i) {
    AddTrace(&c, 1 + i, kStart - 600 * kS + static_cast<int64_t>(i) * kS);
  }
  for (uint64_t i = 0; i < 6; ++i) {
    AddTrace(&c, 5000 + i, kStart - 30 * kS + static_cast<int64_t>(i) * 5 * kS, kBilling,
             kPostRefund);
  }
  for (uint64_t i = 0; i < 6; ++i) {  // the fault: after the start
    AddTrace(&c, 6000 + i, kStart + static_cast<int64_t>(i) * kS, kBilling, kPostRefund);
  }
  const std::vector<EntryPeriods> e = ChooseTracePeriods(c, kStart);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].service, kShop);
  EXPECT_FALSE(e[0].periods.lead_dropped);
  EXPECT_EQ(e[0].periods.split_ns, kStart - kTraceLeadNs);
  EXPECT_EQ(e[0].periods.baseline_traces, 540u);  // kStart - 600 s .. kStart - 61 s
  EXPECT_EQ(e[1].service, kBilling);
  EXPECT_EQ(e[1].name, kPostRefund);
  EXPECT_TRUE(e[1].periods.lead_dropped);
  EXPECT_EQ(e[1].periods.split_ns, kStart);
  EXPECT_EQ(e[1].periods.baseline_traces, 6u);

  std::vector<ingest::Span> base, window;
  SplitTraceSpans(c, e, &base, &window);
  std::set<std::string> base_refunds, window_refunds;
  size_t base_shop = 0, window_shop = 0;
  for (const ingest::Span& s : base) {
    if (s.service == "billing") base_refunds.insert(s.trace_id);
    if (s.service == "shop" && s.parent_span_id.empty()) ++base_shop;
  }
  for (const ingest::Span& s : window) {
    if (s.service == "billing") window_refunds.insert(s.trace_id);
    if (s.service == "shop" && s.parent_span_id.empty()) ++window_shop;
  }
  EXPECT_EQ(base_refunds.size(), 6u);  // the refunds before the incident: its baseline
  EXPECT_EQ(window_refunds.size(), 6u);
  EXPECT_EQ(base_shop, 540u);
  EXPECT_EQ(window_shop, 120u);  // kStart - 60 s .. kStart + 59 s
  EXPECT_EQ(base.size() + window.size(), 2 * (540u + 120u + 12u));  // whole traces
}

// A trace goes whole to the period of its root's start (its child starting after the split goes
// with it); a trace whose root is not in the ring is left out.
TEST(TraceWindowTest, TracesGoWholeByTheirRootsStart) {
  traces::SpanRingCopy c = Copy();
  for (uint64_t i = 0; i < 10; ++i) AddTrace(&c, 1 + i, kStart - 200 * kS);
  // Root 1 ns before the lead split, child after it.
  c.spans.push_back({50, 101, 0, kStart - kTraceLeadNs - 1, kStart, kShop, kGetRoot});
  c.spans.push_back({50, 102, 101, kStart - kTraceLeadNs + kS, kStart, kShop, kGetRoot});
  c.spans.push_back({60, 121, 999, kStart + kS, kStart + 2 * kS, kShop, kGetRoot});  // no root
  std::vector<ingest::Span> base, window;
  SplitTraceSpans(c, ChooseTracePeriods(c, kStart), &base, &window);
  EXPECT_EQ(base.size(), 22u);  // 10 traces of 2 spans and both of trace 50
  EXPECT_TRUE(window.empty());
}

TEST(TraceWindowTest, NoSpansNoPeriods) {
  const traces::SpanRingCopy c = Copy();
  EXPECT_TRUE(ChooseTracePeriods(c, kStart).empty());
  std::vector<ingest::Span> base, window;
  SplitTraceSpans(c, {}, &base, &window);
  EXPECT_TRUE(base.empty() && window.empty());
}

}  // namespace
}  // namespace backsight::incidents
