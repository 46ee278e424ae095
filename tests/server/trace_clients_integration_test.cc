// Traces into a real `backsight serve` from an app instrumented with the OpenTelemetry JS SDK
// (tests/js/otel_traces.js: @opentelemetry/sdk-trace-node with the OTLP/HTTP protobuf and JSON
// exporters, whose bodies are chunked without Content-Length): its N+1 loop, retry storm and
// error cascade are named by GET /api/v1/trace/findings and alerted once per (kind, service,
// operation); its healthy run yields no finding. Skipped with a message when node or the npm
// packages are missing (scripts/install-js-test-deps.sh, run by the ctest fixture).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "js_client_util.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

// Requests the app sends per run.
constexpr int kRequests = 10;

class TraceClients : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string why;
    if (!HaveJsPackage("@opentelemetry/sdk-trace-node", &why)) GTEST_SKIP() << why;
  }
  TempDir dir_;
};

// Polls the findings until `done(findings)` or 20 s; returns the last answer.
nlohmann::json WaitFindings(const ServeProcess& s,
                            const std::function<bool(const nlohmann::json&)>& done) {
  nlohmann::json f;
  for (int i = 0; i < 200; ++i) {
    f = GetJson(s, "/api/v1/trace/findings?limit=100");
    if (f.is_object() && done(f["findings"])) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return f.is_object() ? f["findings"] : nlohmann::json();
}

// The finding of `kind`, or null.
nlohmann::json FindingOf(const nlohmann::json& findings, const std::string& kind) {
  if (findings.is_array()) {
    for (const auto& f : findings) {
      if (f["kind"] == kind) return f;
    }
  }
  return nullptr;
}

TEST_P(TraceClients, NPlusOneRetryStormAndCascadeFoundByNameHealthyRunQuiet) {
  const std::string exporter = GetParam();
  AlertReceiver am;
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: \"\"\ntraces:\n  trace_wait: 1s\n"
      "alerting:\n  alertmanager_url: http://127.0.0.1:" +
      std::to_string(am.port()) + "\n";
  ServeProcess s(dir_, yaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();
  const std::string n = std::to_string(kRequests);
  std::string out;

  // Healthy: every trace analysed, nothing found.
  ASSERT_EQ(RunNode("otel_traces.js", s, "healthy " + exporter + " " + n, &out), 0) << out;
  for (int i = 0; i < 100 && s.Metric("backsight_trace_findings_traces_total") < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(s.Metric("backsight_trace_findings_traces_total"), kRequests)
      << s.Get("/metrics?outputs=false");
  EXPECT_EQ(s.Get("/api/v1/trace/findings"), "{\"findings\":[],\"status\":\"success\"}\n");

  // N+1: 12 queries per request, one statement once its literals are masked.
  out.clear();
  ASSERT_EQ(RunNode("otel_traces.js", s, "nplus1 " + exporter + " " + n, &out), 0) << out;
  auto f = WaitFindings(
      s, [](const nlohmann::json& j) { return !FindingOf(j, "n_plus_one").is_null(); });
  auto nplus1 = FindingOf(f, "n_plus_one");
  ASSERT_FALSE(nplus1.is_null()) << f.dump();
  EXPECT_EQ(nplus1["service"], "shop-api");
  EXPECT_EQ(nplus1["operation"], "SELECT * FROM items WHERE id = ?");
  EXPECT_EQ(nplus1["count"], kRequests);
  EXPECT_EQ(nplus1["example_trace_id"].get<std::string>().size(), 32u) << nplus1.dump();
  EXPECT_NE(nplus1["explanation"].get<std::string>().find("12 sequential calls"), std::string::npos)
      << nplus1.dump();
  EXPECT_EQ(f.size(), 1u) << f.dump();

  // Retry storm: 4 failed reservation calls then a success, under each request.
  out.clear();
  ASSERT_EQ(RunNode("otel_traces.js", s, "retry " + exporter + " " + n, &out), 0) << out;
  f = WaitFindings(s,
                   [](const nlohmann::json& j) { return !FindingOf(j, "retry_storm").is_null(); });
  auto storm = FindingOf(f, "retry_storm");
  ASSERT_FALSE(storm.is_null()) << f.dump();
  EXPECT_EQ(storm["service"], "shop-api");
  EXPECT_EQ(storm["operation"], "POST /reserve");
  EXPECT_EQ(storm["count"], kRequests);
  // The handler recovered: the failed calls are no cascade.
  EXPECT_TRUE(FindingOf(f, "error_cascade").is_null()) << f.dump();

  // Error cascade: inventory fails and the handler with it.
  out.clear();
  ASSERT_EQ(RunNode("otel_traces.js", s, "cascade " + exporter + " " + n, &out), 0) << out;
  f = WaitFindings(
      s, [](const nlohmann::json& j) { return !FindingOf(j, "error_cascade").is_null(); });
  auto cascade = FindingOf(f, "error_cascade");
  ASSERT_FALSE(cascade.is_null()) << f.dump();
  EXPECT_EQ(cascade["service"], "inventory");
  EXPECT_EQ(cascade["operation"], "POST /reserve");
  EXPECT_EQ(cascade["upstream_services"], nlohmann::json::array({"shop-api"}));
  EXPECT_EQ(f.size(), 3u) << f.dump();
  EXPECT_EQ(GetJson(s, "/api/v1/trace/findings?limit=1")["findings"].size(), 1u);

  // One alert per (kind, service, operation), not one per trace.
  nlohmann::json alerts;
  for (int i = 0; i < 50; ++i) {
    alerts = am.alerts();
    if (alerts.size() >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a duplicate would come by now
  alerts = am.alerts();
  ASSERT_EQ(alerts.size(), 3u) << alerts.dump();
  for (const auto& a : alerts) {
    EXPECT_EQ(a["labels"]["alertname"], "BacksightTraceFinding") << a.dump();
    const auto& want = FindingOf(f, a["labels"]["kind"].get<std::string>());
    ASSERT_FALSE(want.is_null()) << a.dump();
    EXPECT_EQ(a["labels"]["service"], want["service"]);
    EXPECT_EQ(a["labels"]["operation"], want["operation"]);
    EXPECT_EQ(a["annotations"]["example_trace_id"], want["example_trace_id"]);
  }
}

INSTANTIATE_TEST_SUITE_P(Exporters, TraceClients, ::testing::Values("proto", "http"));

}  // namespace
}  // namespace backsight::testing
