#include "backsight/traces/service_graph.h"

#include <gtest/gtest.h>

#include "span_test_util.h"

namespace backsight::traces {
namespace {

TEST(ServiceGraph, PairsAcrossServicesInAnyOrder) {
  ServiceGraph g;
  // Child before its parent, then a same-service child (no edge), then an error child.
  g.Add(MakeSpan("t1", "b", "a", "cart", "GetCart", 10, 20));
  g.Add(MakeSpan("t1", "a", "", "frontend", "GET /", 0, 100));
  g.Add(MakeSpan("t1", "c", "a", "frontend", "render", 30, 40));
  g.Add(MakeSpan("t1", "d", "a", "cart", "GetCart", 50, 60, ingest::SpanStatus::kError));
  auto edges = g.Edges();
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0]->client, "frontend");
  EXPECT_EQ(edges[0]->server, "cart");
  EXPECT_EQ(edges[0]->requests, 2u);
  EXPECT_EQ(edges[0]->failed, 1u);
  std::string text;
  g.WritePrometheus(&text);
  EXPECT_NE(
      text.find("traces_service_graph_request_total{client=\"frontend\",server=\"cart\"} 2\n"),
      std::string::npos);
  EXPECT_NE(text.find("traces_service_graph_request_failed_total{client=\"frontend\","
                      "server=\"cart\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("traces_service_graph_request_server_seconds_count{client=\"frontend\","
                      "server=\"cart\"} 2\n"),
            std::string::npos);
}

TEST(ServiceGraph, OrphansWaitBoundedThenCountAsDropped) {
  ServiceGraph g(/*wait_ns=*/1'000'000'000, /*max_spans=*/100);
  g.Add(MakeSpan("t1", "b", "missing", "cart", "GetCart", 0, 10));
  EXPECT_EQ(g.dropped_unpaired(), 0u);
  g.Add(MakeSpan("t2", "x", "", "frontend", "GET /", 5000, 5001));  // 5 s later
  EXPECT_EQ(g.dropped_unpaired(), 1u);
  // The late parent finds nothing waiting.
  g.Add(MakeSpan("t1", "missing", "", "frontend", "GET /", 0, 5002));
  EXPECT_TRUE(g.Edges().empty());
  ServiceGraph small(/*wait_ns=*/1'000'000'000'000, /*max_spans=*/4);
  for (int i = 0; i < 10; ++i) {
    std::string t = "t";
    t += std::to_string(i);
    small.Add(MakeSpan(t, "c", "p", "cart", "GetCart", i, i + 1));
  }
  EXPECT_LE(small.remembered_spans(), 4u);
  EXPECT_GT(small.dropped_unpaired(), 0u);
}

TEST(ServiceGraph, AParentOutlivesTheWaitOfAnEarlierChild) {
  ServiceGraph g(/*wait_ns=*/2'000'000'000, /*max_spans=*/100);
  g.Add(MakeSpan("t1", "c1", "p", "cart", "GetCart", 0, 10));       // waits for p
  g.Add(MakeSpan("t1", "p", "", "frontend", "GET /", 0, 100));      // pairs c1
  g.Add(MakeSpan("t2", "x", "", "ad", "GetAds", 2000, 2060));       // time moves on: c1's wait ends
  g.Add(MakeSpan("t1", "c2", "p", "cart", "GetCart", 2000, 2070));  // c1's wait is over, p's not
  ASSERT_EQ(g.Edges().size(), 1u);
  EXPECT_EQ(g.Edges()[0]->requests, 2u);
  EXPECT_EQ(g.dropped_unpaired(), 0u);
}

// "c<i>" (built by append: `"c" + std::to_string(i)` trips GCC 12's -Wrestrict false positive).
std::string ChildId(int i) {
  std::string id = "c";
  id += std::to_string(i);
  return id;
}

TEST(ServiceGraph, ChildrenWaitingForOneParentAllPairAndTheCapDropsTheOldest) {
  ServiceGraph g;
  for (int i = 0; i < 5; ++i) {
    g.Add(MakeSpan("t1", ChildId(i), "p", "cart", "GetCart", i, i + 1));
  }
  g.Add(MakeSpan("t1", "p", "", "frontend", "GET /", 0, 100));
  ASSERT_EQ(g.Edges().size(), 1u);
  EXPECT_EQ(g.Edges()[0]->requests, 5u);
  EXPECT_EQ(g.dropped_unpaired(), 0u);
  // Each waiting child holds two records (itself waiting, itself as a possible parent): with room
  // for 6, the first two of five children leave before their parent comes.
  ServiceGraph small(ServiceGraph::kDefaultWaitNs, /*max_spans=*/6);
  for (int i = 0; i < 5; ++i) {
    small.Add(MakeSpan("t1", ChildId(i), "p", "cart", "GetCart", i, i + 1));
  }
  small.Add(MakeSpan("t1", "p", "", "frontend", "GET /", 0, 100));
  EXPECT_LE(small.remembered_spans(), 6u);
  ASSERT_EQ(small.Edges().size(), 1u);
  EXPECT_EQ(small.Edges()[0]->requests, 3u);
  EXPECT_EQ(small.dropped_unpaired(), 2u);
}

ingest::Span Kinded(ingest::Span s, ingest::SpanKind k) {
  s.kind = k;
  return s;
}

TEST(ServiceGraph, PairsClientAndServerSpansByKind) {
  using K = ingest::SpanKind;
  ServiceGraph g;
  // frontend's CLIENT span c1 calls cart (SERVER s1, arriving first, 30 ms): one request on
  // frontend -> cart, failed because the client half failed.
  g.Add(Kinded(MakeSpan("t1", "s1", "c1", "cart", "GetCart", 10, 40), K::kServer));
  g.Add(Kinded(MakeSpan("t1", "c1", "r", "frontend", "GET cart", 5, 50, ingest::SpanStatus::kError),
               K::kClient));
  // The CLIENT span's parent is frontend's SERVER root: same service, no edge.
  g.Add(Kinded(MakeSpan("t1", "r", "", "frontend", "GET /", 0, 60), K::kServer));
  // A CLIENT span of cart under frontend's CLIENT span: no edge (a client is never a server half).
  g.Add(Kinded(MakeSpan("t1", "x", "c1", "cart", "GET db", 12, 20), K::kClient));
  // A PRODUCER -> CONSUMER pair (queue): one request on cart -> mailer.
  g.Add(Kinded(MakeSpan("t1", "p1", "s1", "cart", "send", 20, 21), K::kProducer));
  g.Add(Kinded(MakeSpan("t1", "q1", "p1", "mailer", "receive", 30, 35), K::kConsumer));
  auto edges = g.Edges();
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[0]->client, "cart");
  EXPECT_EQ(edges[0]->server, "mailer");
  EXPECT_EQ(edges[0]->requests, 1u);
  EXPECT_EQ(edges[0]->failed, 0u);
  EXPECT_EQ(edges[1]->client, "frontend");
  EXPECT_EQ(edges[1]->server, "cart");
  EXPECT_EQ(edges[1]->requests, 1u);
  EXPECT_EQ(edges[1]->failed, 1u);
  // Server latency is the SERVER span's 30 ms (histogram midpoint within 6.25 %).
  EXPECT_NEAR(edges[1]->server_latency.Quantile(0.5), 30e6, 30e6 * 0.0625);
}

TEST(ServiceGraph, ClosesEdgeBucketsForTheEngine) {
  // 60 s buckets; the bucket of a request is its server span's start.
  ServiceGraph g(ServiceGraph::kDefaultWaitNs, ServiceGraph::kDefaultMaxSpans,
                 ServiceGraph::kDefaultMaxEdges, /*bucket_ns=*/60'000'000'000);
  std::vector<EdgeBucket> closed;
  g.Add(MakeSpan("t1", "a", "", "frontend", "GET /", 0, 100), &closed);
  g.Add(MakeSpan("t1", "b", "a", "cart", "GetCart", 10, 20), &closed);
  g.Add(MakeSpan("t1", "c", "a", "cart", "GetCart", 30, 70, ingest::SpanStatus::kError), &closed);
  EXPECT_TRUE(closed.empty());
  g.Add(MakeSpan("t2", "a", "", "frontend", "GET /", 61000, 61100), &closed);
  g.Add(MakeSpan("t2", "b", "a", "cart", "GetCart", 61010, 61020), &closed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].client, "frontend");
  EXPECT_EQ(closed[0].server, "cart");
  EXPECT_EQ(closed[0].bucket_start_ns, 0);
  EXPECT_EQ(closed[0].requests, 2u);
  EXPECT_EQ(closed[0].failed, 1u);
  EXPECT_NEAR(closed[0].p90_seconds, 0.040, 0.040 * 0.0625);
  closed.clear();
  g.Flush(INT64_MAX, &closed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].bucket_start_ns, 60'000'000'000);
  EXPECT_EQ(closed[0].requests, 1u);
}

TEST(ServiceGraph, EdgeAndServiceCapsCountWhatTheyDrop) {
  ServiceGraph g(ServiceGraph::kDefaultWaitNs, ServiceGraph::kDefaultMaxSpans, /*max_edges=*/1);
  g.Add(MakeSpan("t1", "a", "", "frontend", "GET /", 0, 100));
  g.Add(MakeSpan("t1", "b", "a", "cart", "GetCart", 10, 20));
  g.Add(MakeSpan("t1", "c", "b", "frontend", "Callback", 12, 13));  // cart -> frontend: over cap
  g.Add(MakeSpan("t1", "d", "a", "ads", "GetAds", 30, 40));         // a third service: over cap
  ASSERT_EQ(g.Edges().size(), 1u);
  EXPECT_EQ(g.Edges()[0]->client, "frontend");
  EXPECT_EQ(g.dropped_edge_requests(), 1u);
  EXPECT_EQ(g.dropped_service_spans(), 1u);
  std::string text;
  g.WritePrometheus(&text);
  EXPECT_NE(text.find("\nbacksight_traces_graph_dropped_requests_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nbacksight_traces_graph_dropped_service_spans_total 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace backsight::traces
