// SpanRing: bounded (oldest overwritten), copied oldest first, spans rebuilt with their parent
// links and names, filtered by start time; the name table's bound empties the ring.
#include "backsight/traces/span_ring.h"

#include <gtest/gtest.h>

#include "span_test_util.h"

namespace backsight::traces {
namespace {

TEST(SpanRing, KeepsTheNewestSpansAndRebuildsParentLinks) {
  SpanRing ring(3);
  ring.Add({MakeSpan("t1", "a", "", "frontend", "GET /", 0, 10),
            MakeSpan("t1", "b", "a", "cart", "GET /cart", 1, 5)});
  ring.Add({MakeSpan("t2", "c", "", "frontend", "GET /", 20, 30),
            MakeSpan("t2", "d", "c", "cart", "GET /cart", 21, 25)});
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.capacity(), 3u);
  SpanRingCopy copy;
  ring.CopyTo(&copy);
  ASSERT_EQ(copy.spans.size(), 3u);  // the oldest ("a") overwritten
  std::vector<ingest::Span> out;
  copy.ToSpans(0, INT64_MAX, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].service, "cart");  // oldest first
  EXPECT_EQ(out[0].start_ns, 1'000'000);
  EXPECT_EQ(out[1].name, "GET /");
  EXPECT_EQ(out[1].parent_span_id, "");
  EXPECT_EQ(out[2].parent_span_id, out[1].span_id);  // d's parent is c
  EXPECT_EQ(out[2].trace_id, out[1].trace_id);
  EXPECT_NE(out[0].trace_id, out[1].trace_id);
  EXPECT_EQ(out[2].end_ns, 25'000'000);
  // [from, to) by start time.
  out.clear();
  copy.ToSpans(20'000'000, 21'000'000, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].start_ns, 20'000'000);
}

TEST(SpanRing, ZeroCapacityKeepsNothing) {
  SpanRing ring(0);
  ring.Add({MakeSpan("t1", "a", "", "frontend", "GET /", 0, 10)});
  EXPECT_EQ(ring.size(), 0u);
  SpanRingCopy copy;
  ring.CopyTo(&copy);
  EXPECT_TRUE(copy.spans.empty());
}

TEST(SpanRing, FullNameTableEmptiesTheRing) {
  SpanRing ring(10);
  std::vector<ingest::Span> spans;
  // One service plus kMaxNames - 1 span names fill the table; one more name resets it.
  for (size_t i = 0; i + 1 < SpanRing::kMaxNames; ++i) {
    spans.push_back(MakeSpan("t", "s", "", "svc", "op" + std::to_string(i), 0, 1));
  }
  ring.Add(spans);
  EXPECT_EQ(ring.resets(), 0u);
  EXPECT_EQ(ring.size(), 10u);
  ring.Add({MakeSpan("t", "s", "", "svc", "one more", 5, 6)});
  EXPECT_EQ(ring.resets(), 1u);
  EXPECT_EQ(ring.size(), 1u);
  SpanRingCopy copy;
  ring.CopyTo(&copy);
  std::vector<ingest::Span> out;
  copy.ToSpans(0, INT64_MAX, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].service, "svc");  // interned again after the reset
  EXPECT_EQ(out[0].name, "one more");
  EXPECT_EQ(ring.min_start_ns(), 5'000'000);  // the spans before the reset are gone
}

TEST(SpanRing, MinStartIsALowerBoundOfTheSpansHeld) {
  SpanRing ring(3);
  EXPECT_EQ(ring.min_start_ns(), INT64_MAX);  // empty
  ring.Add({MakeSpan("t1", "a", "", "frontend", "GET /", 20, 30)});
  EXPECT_EQ(ring.min_start_ns(), 20'000'000);
  // Arrival order is not start order: a late span that started earlier lowers it.
  ring.Add({MakeSpan("t0", "b", "", "frontend", "GET /", 7, 9),
            MakeSpan("t2", "c", "", "frontend", "GET /", 40, 50)});
  EXPECT_EQ(ring.min_start_ns(), 7'000'000);
  ring.Add({MakeSpan("t3", "d", "", "frontend", "GET /", 60, 70)});
  SpanRingCopy copy;
  ring.CopyTo(&copy);
  for (const RingSpan& r : copy.spans) EXPECT_GE(r.start_ns, ring.min_start_ns());
}

}  // namespace
}  // namespace backsight::traces
