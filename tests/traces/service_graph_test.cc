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

}  // namespace
}  // namespace backsight::traces
