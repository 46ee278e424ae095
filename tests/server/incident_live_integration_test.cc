// Issue 10's live bar with a real instrumented app: tests/js/incident_app.js (three services,
// frontend -> checkout -> payment, each exporting traces, logs and metrics with the OpenTelemetry
// JS SDK to /v1/traces, /v1/logs and /v1/metrics) runs healthy against `backsight serve` with
// incidents on and a real Alertmanager (prometheus-alertmanager) -> no incident, no alert; then
// the payment gateway times out -> Alertmanager is notified of exactly ONE alert,
// BacksightIncident naming payment (no per-series or per-log-event alert), and the incident has
// metric and log members with payment ranked first by the trace latency evidence (the app is
// seconds old: the baseline is the traces before the incident's start). Skipped with a message when
// Alertmanager, node or the npm packages are missing (scripts/install-deps.sh --test,
// scripts/install-js-test-deps.sh).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "js_client_util.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

// Healthy requests: past the default detector's 500-sample warm-up (detect/default_detector.h;
// one latency sample per request and service) and the log scorer's 500-line warm-up
// (logs/log_anomaly.h; one line per request and service).
constexpr int kHealthyRequests = 600;
// Fault requests, one every kFaultPauseMs (3 s in all). The latency series are anomalous for their
// first ~5 fault samples (~500 ms; then the detector takes the new level as the recent normal),
// longer than kAlertFor, so per-series alerts would fire if they were on.
constexpr int kFaultRequests = 30;
constexpr int kFaultPauseMs = 100;
// alerting.for: also the time the incident's members (three latency series sent at once) have to
// join before its alert first fires, naming the top service.
constexpr const char* kAlertFor = "300ms";
constexpr const char* kServices[] = {"frontend", "checkout", "payment"};

// The label set serve gave the app's latency gauge of `service` (OTLP puts service.name in
// `job`); empty if it has none yet.
Labels LatencySeries(const ServeProcess& s, const std::string& service) {
  const nlohmann::json list = GetJson(s, "/api/v1/series?metric=app_request_duration");
  if (!list.is_object()) return {};
  for (const auto& e : list["series"]) {
    if (e["series"].value("job", "") != service) continue;
    Labels labels;
    for (const auto& [k, v] : e["series"].items()) labels.push_back({k, v.get<std::string>()});
    SortLabels(&labels);
    return labels;
  }
  return {};
}

// The distinct label sets of `alerts` (JSON objects with "labels").
std::set<std::string> LabelSets(const nlohmann::json& alerts) {
  std::set<std::string> sets;
  for (const auto& a : alerts) sets.insert(a["labels"].dump());
  return sets;
}

// LabelSets, one per line.
std::string Names(const nlohmann::json& alerts) {
  std::string out;
  for (const std::string& n : LabelSets(alerts)) out += n + "\n";
  return out;
}

TEST(IncidentLiveJs, FaultInOneServiceIsOneIncidentAlertNamingIt) {
  if (!AlertmanagerProcess::Installed()) {
    GTEST_SKIP() << AlertmanagerProcess::kBinary
                 << " is not installed (scripts/install-deps.sh --test)";
  }
  std::string why;
  if (!HaveJsPackage("@opentelemetry/exporter-metrics-otlp-proto", &why)) GTEST_SKIP() << why;
  TempDir dir;
  AlertmanagerProcess am(dir);
  ASSERT_TRUE(am.ok()) << am.proc().log();
  ServeProcess s(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nalerting:\n  alertmanager_url: " + am.url() + "\n  for: " + kAlertFor +
                          "\n  resend_interval: 10s\n"
                          "incidents:\n  enabled: true\n  gap: 1m\n  resolve_after: 1h\n"
                          "traces:\n  trace_wait: 1s\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();

  // Healthy: every latency series gets all its samples and leaves warm-up; the traces show the
  // call chain.
  std::string out;
  ASSERT_EQ(
      RunNode("incident_app.js", s, "healthy " + std::to_string(kHealthyRequests) + " 1000", &out),
      0)
      << out;
  for (const char* service : kServices) {
    nlohmann::json st;
    ASSERT_TRUE(WaitFor(
        [&] {
          const Labels labels = LatencySeries(s, service);
          st = labels.empty() ? nullptr : s.State(labels);
          return st.is_object() && st["samples_accepted"].get<int>() >= kHealthyRequests;
        },
        20'000))
        << service << ": " << st.dump() << "\n"
        << s.Get("/api/v1/series?metric=app_request_duration");
    EXPECT_EQ(st["warming_up"], false) << st.dump();
    EXPECT_EQ(st["samples_rejected"], 0) << st.dump();
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m = s.Get("/api/v1/trace/metrics");
        return m.find(
                   "traces_service_graph_request_total{client=\"frontend\",server="
                   "\"checkout\"}") != std::string::npos &&
               m.find(
                   "traces_service_graph_request_total{client=\"checkout\",server="
                   "\"payment\"}") != std::string::npos;
      },
      10'000))
      << s.Get("/api/v1/trace/metrics");
  // The healthy phase alone: no incident and no alert, also past alerting.for and the trace wait.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const nlohmann::json healthy = GetJson(s, "/api/v1/incidents");
  ASSERT_TRUE(healthy.is_object()) << "GET /api/v1/incidents: " << s.Get("/api/v1/incidents");
  EXPECT_EQ(healthy["data"]["incidents"].size(), 0u) << healthy.dump();
  ASSERT_EQ(am.Alerts().size(), 0u) << Names(am.Alerts());
  ASSERT_EQ(am.Notified().size(), 0u) << Names(am.Notified());

  // The fault in payment.
  out.clear();
  ASSERT_EQ(
      RunNode("incident_app.js", s,
              "fault " + std::to_string(kFaultRequests) + " 1600 " + std::to_string(kFaultPauseMs),
              &out),
      0)
      << out;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& a : am.Notified()) {
          if (a["labels"].value("alertname", "") == "BacksightIncident") return true;
        }
        return false;
      },
      20'000))
      << Names(am.Notified()) << s.Get("/api/v1/incidents");
  // Still one alert in all once every member has joined, `for` has passed for each series and
  // log event, and the fault's traces have been analysed: one notified (also counting alerts
  // that fired and resolved since) and one active, the incident's, naming payment.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const nlohmann::json notified = am.Notified();
  EXPECT_EQ(LabelSets(notified).size(), 1u) << "Alertmanager notified:\n" << Names(notified);
  const nlohmann::json alerts = am.Alerts();
  ASSERT_EQ(alerts.size(), 1u) << Names(alerts) << s.Get("/api/v1/incidents");
  EXPECT_EQ(alerts[0]["labels"], notified[0]["labels"]);
  EXPECT_EQ(alerts[0]["labels"]["alertname"], "BacksightIncident");
  EXPECT_EQ(alerts[0]["labels"]["service"], "payment");

  // One incident (others, if the services' first anomalies opened apart, merged into it).
  const nlohmann::json list = GetJson(s, "/api/v1/incidents");
  ASSERT_TRUE(list.is_object()) << s.Get("/api/v1/incidents");
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& i : list["data"]["incidents"]) {
    if (i["state"] != "merged") kept.push_back(i);
  }
  ASSERT_EQ(kept.size(), 1u) << list.dump();
  const std::string id = std::to_string(kept[0]["id"].get<int>());
  EXPECT_EQ(alerts[0]["labels"]["incident_id"], id);
  const nlohmann::json inc = GetJson(s, "/api/v1/incidents/" + id)["data"];
  std::set<std::string> signals;
  bool payment_latency = false;
  for (const auto& m : inc["members"]) {
    signals.insert(m["signal"].get<std::string>());
    if (m["service"] == "payment" && m["indicator"] == "app_request_duration") {
      payment_latency = true;
    }
  }
  EXPECT_GE(signals.size(), 2u) << inc.dump();
  EXPECT_TRUE(signals.count("metric") && signals.count("log")) << inc.dump();
  EXPECT_TRUE(payment_latency) << inc.dump();
  ASSERT_FALSE(inc["causes"].empty()) << inc.dump();
  EXPECT_EQ(inc["causes"][0]["service"], "payment") << inc.dump();
  // The trace latency evidence placed payment first, although the app is seconds old (no trace
  // started 60 s before the incident: the baseline is the healthy traces before its start,
  // incidents/trace_window.h). Every span was posted before the fault phase returned, and the
  // evidence is recomputed every second: the 3 s above see it.
  EXPECT_NE(inc["causes"][0]["explanation"].get<std::string>().find("payment POST /pay self time"),
            std::string::npos)
      << inc.dump();
  EXPECT_NE(inc["causes"][0]["explanation"].get<std::string>().find("trace latency attribution"),
            std::string::npos)
      << inc.dump();
  EXPECT_EQ(inc["causes"][0]["evidence"], "trace_latency") << inc.dump();
  // The list says it too.
  EXPECT_EQ(kept[0]["causes"][0]["evidence"], "trace_latency") << list.dump();
  // /metrics: the evidence ran, and the ring holds the app's spans (5 per request: frontend's and
  // checkout's server and client spans, payment's server span).
  EXPECT_GE(s.Metric("backsight_incident_trace_evidence_runs_total"), 1);
  EXPECT_GE(s.Metric("backsight_span_ring_spans"), 5 * (kHealthyRequests + kFaultRequests));
  EXPECT_EQ(s.Metric("backsight_span_ring_resets_total"), 0);
  std::printf("trace evidence: %g runs, %g s in all; span ring: %g spans\n",
              s.Metric("backsight_incident_trace_evidence_runs_total"),
              s.Metric("backsight_incident_trace_evidence_seconds"),
              s.Metric("backsight_span_ring_spans"));
  std::printf("incident %s (%zu merged into it): %zu members (", id.c_str(),
              list["data"]["incidents"].size() - 1, inc["members"].size());
  for (const std::string& sig : signals) std::printf(" %s", sig.c_str());
  std::printf(" ); causes:\n");
  for (const auto& c : inc["causes"]) {
    std::printf("  %d. %s\n", c["rank"].get<int>(), c["explanation"].get<std::string>().c_str());
  }
}

}  // namespace
}  // namespace backsight::testing
