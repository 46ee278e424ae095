// End-to-end tests of `backsight traces`: span CSV in, RED table, service graph and latency
// attribution out (text and JSON), bad input exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"

namespace backsight::testing {
namespace {

constexpr char kHeader[] =
    "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,end_unix_nano,"
    "status\n";

// `n` traces from second `t0_s`: frontend GET / calls cart (client stub + server span); the
// cart call's network wait is `wait_ms`. Every 5th cart server span fails.
std::string Traces(int n, int t0_s, int wait_ms) {
  std::string s = kHeader;
  for (int i = 0; i < n; ++i) {
    const long long t = (t0_s + i) * 1000000000LL;
    const long long ms = 1000000;
    std::string id = "t";
    id += std::to_string(t0_s);
    id += "x";
    id += std::to_string(i);
    const long long cart_end = t + (8 + wait_ms) * ms;
    s += id + ",r,,frontend,fe-0,GET /," + std::to_string(t) + "," +
         std::to_string(cart_end + 2 * ms) + ",ok\n";
    s += id + ",c,r,frontend,fe-0,Cart/Get," + std::to_string(t + ms) + "," +
         std::to_string(cart_end) + ",\n";
    s += id + ",s,c,cart,cart-0,Cart/Get," + std::to_string(t + ms + wait_ms * ms / 2) + "," +
         std::to_string(t + ms + wait_ms * ms / 2 + 5 * ms) + "," + (i % 5 ? "ok" : "error") + "\n";
  }
  return s;
}

using TracesCliTest = CliTest;

TEST_F(TracesCliTest, RedGraphAndAttributionAsJson) {
  const std::string base = Write("base.csv", Traces(40, 0, 2));
  const std::string win = Write("win.csv", Traces(40, 100, 80));
  CliResult r = Run("traces --format json --baseline '" + base + "' '" + win + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["spans"], 120);
  ASSERT_EQ(j["service_graph"].size(), 1u);
  EXPECT_EQ(j["service_graph"][0]["client"], "frontend");
  EXPECT_EQ(j["service_graph"][0]["server"], "cart");
  EXPECT_EQ(j["service_graph"][0]["requests"], 40);
  EXPECT_EQ(j["service_graph"][0]["failed"], 8);
  const auto& a = j["latency_attribution"];
  EXPECT_EQ(a["slow_traces"], 40);
  EXPECT_EQ(a["spans"][0]["service"], "frontend");
  EXPECT_EQ(a["spans"][0]["operation"], "Cart/Get");
  EXPECT_EQ(a["spans"][0]["calls_service"], "cart");
  EXPECT_EQ(a["suspects"][0]["service"], "cart");
  EXPECT_TRUE(j["findings"].empty()) << j["findings"];  // one cart call per request
  // Without --baseline: the last --window seconds against the rest of one file.
  const std::string both =
      Write("both.csv", Traces(40, 0, 2) + Traces(40, 100, 80).substr(std::string(kHeader).size()));
  r = Run("traces --format json --window 50 '" + both + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["latency_attribution"]["baseline_traces"], 40);
  EXPECT_EQ(j["latency_attribution"]["suspects"][0]["service"], "cart");
}

TEST_F(TracesCliTest, TextAndPrometheusOutput) {
  const std::string win = Write("win.csv", Traces(10, 0, 2));
  const std::string prom = dir_ + "/out.prom";
  CliResult r = Run("traces '" + win + "' --prometheus '" + prom + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("frontend                     -> cart"), std::string::npos) << r.out;
  const std::string text = ReadWholeFile(prom);
  EXPECT_NE(
      text.find("traces_span_metrics_calls_total{service_name=\"cart\",span_name=\"Cart/"
                "Get\",span_kind=\"SPAN_KIND_UNSPECIFIED\",status_code=\"STATUS_CODE_ERROR\"} 2"),
      std::string::npos);
  EXPECT_NE(text.find("traces_service_graph_request_total{client=\"frontend\",server=\"cart\"} 10"),
            std::string::npos);
}

TEST_F(TracesCliTest, BadInputExitCodes) {
  const std::string bad = Write("bad.csv", std::string(kHeader) + "t,a,,s,i,op,100,50,\n");
  CliResult r = Run("traces '" + bad + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find(bad + ": line 2: end time before the start time"), std::string::npos)
      << r.err;
  const std::string json =
      Write("bad.jsonl", "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{}]}]}]}\n");
  r = Run("traces '" + json + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find(json + ":1: otlp traces: resourceSpans[0].scopeSpans[0].spans[0].traceId"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Run("traces '" + dir_ + "/missing.csv'").rc, 4);
  EXPECT_EQ(Run("traces --format xml '" + bad + "'").rc, 2);
}

// One request whose frontend calls cart `n` times, one after the other; the first `failures`
// calls fail.
std::string LoopTrace(const std::string& id, int n, int failures) {
  std::string s;
  const long long ms = 1000000, t = 1000 * ms;
  s += id + ",r,,frontend,fe-0,GET /," + std::to_string(t) + "," +
       std::to_string(t + (2 + 3 * n) * ms) + ",ok\n";
  for (int i = 0; i < n; ++i) {
    const long long start = t + (1 + 3 * i) * ms;
    s += id + ",c" + std::to_string(i) + ",r,cart,cart-0,Cart/Get," + std::to_string(start) + "," +
         std::to_string(start + 2 * ms) + "," + (i < failures ? "error" : "ok") + "\n";
  }
  return s;
}

TEST_F(TracesCliTest, FindingsNamedInJsonAndText) {
  const std::string f = Write("loops.csv", std::string(kHeader) + LoopTrace("nplus1", 9, 0) +
                                               LoopTrace("storm", 5, 4) + LoopTrace("fine", 2, 0));
  CliResult r = Run("traces --format json '" + f + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["findings"].size(), 2u) << j["findings"];
  EXPECT_EQ(j["findings"][0]["kind"], "retry_storm");  // 4 retries vs a median of 0 (as 1)
  EXPECT_EQ(j["findings"][0]["example_trace_id"], "storm");
  EXPECT_EQ(j["findings"][0]["service"], "cart");
  EXPECT_EQ(j["findings"][0]["operation"], "Cart/Get");
  EXPECT_DOUBLE_EQ(j["findings"][0]["score"].get<double>(), 4.0);
  EXPECT_EQ(j["findings"][1]["kind"], "n_plus_one");  // 9 calls vs a median of 5
  EXPECT_EQ(j["findings"][1]["example_trace_id"], "nplus1");
  EXPECT_DOUBLE_EQ(j["findings"][1]["score"].get<double>(), 9.0 / 5.0);
  r = Run("traces '" + f + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Findings (2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("n_plus_one"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("e.g. trace storm"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace backsight::testing
