// Live incidents against a real Alertmanager (prometheus-alertmanager, skipped with a message when
// not installed): several series of two services turn anomalous together -> Alertmanager holds
// ONE BacksightIncident alert and no per-series BacksightAnomaly alert; the incident, its members
// and its ranked causes survive a `kill -9` and restart of serve. Prints the delay from the first
// injected anomaly to the incident's first cause ranking (issue 10's bar: within 5 s). A
// logs.security finding (brute force lines through the Loki push) and a metric anomaly of the
// same service end in one BacksightIncident alert whose members include the finding, while the
// BacksightSecurityFinding alert stays (issue 14). An incident ranked by trace latency evidence
// keeps its top cause through kill -9 and clean restarts (the span ring starts empty), until
// fresh evidence from enough traces replaces it.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "checkout_traces.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";
constexpr int64_t kT0 = 1'700'000'000'000LL * kNanosPerMilli;
constexpr int64_t kStep = 10 * kNanosPerSecond;

double Normal(int i, int k) { return 20 + k + 2 * std::sin(i * 0.3 + k) + (i % 3) * 0.2; }

// Alertmanager's active alerts named `name`.
nlohmann::json Alerts(int port, const std::string& name) {
  nlohmann::json a = GetJson(port, "/api/v2/alerts?filter=alertname%3D%22" + name + "%22");
  return a.is_array() ? a : nlohmann::json::array();
}

std::vector<Labels> FourSeries() {
  std::vector<Labels> out;
  for (const char* service : {"cart", "frontend"}) {
    for (const char* metric : {"latency_seconds", "errors_ratio"}) {
      out.push_back({{"__name__", metric}, {"namespace", "shop"}, {"service", service}});
    }
  }
  for (auto& l : out) SortLabels(&l);
  return out;
}

// Samples [from, to) of `series`; the ones in `spike` get a far-off last value.
std::vector<TimeSeries> Batch(const std::vector<Labels>& series, int from, int to,
                              const std::vector<size_t>& spike = {}) {
  std::vector<TimeSeries> out;
  for (size_t k = 0; k < series.size(); ++k) {
    TimeSeries ts;
    ts.labels = series[k];
    ts.kind = MetricKind::kGauge;
    for (int i = from; i < to; ++i) {
      ts.samples.push_back({kT0 + i * kStep, Normal(i, static_cast<int>(k))});
    }
    if (std::find(spike.begin(), spike.end(), k) != spike.end()) ts.samples.back().value = 5000;
    out.push_back(std::move(ts));
  }
  return out;
}

TEST(IncidentsIntegration, OneAlertPerIncidentSurvivesRestart) {
  if (!HaveBinary(kAlertmanager)) {
    GTEST_SKIP() << kAlertmanager << " is not installed (scripts/install-deps.sh --test)";
  }
  TempDir dir;
  AlertmanagerProcess am(dir, kAlertmanager);
  ASSERT_TRUE(am.ok()) << am.log();
  const int aport = am.port();
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
      "\nalerting:\n  alertmanager_url: http://127.0.0.1:" + std::to_string(aport) +
      "\n  for: 1s\n  resend_interval: 10s\n"
      "incidents:\n  enabled: true\n  gap: 1m\n  resolve_after: 1h\n";
  auto b = std::make_unique<ServeProcess>(dir, yaml);
  ASSERT_TRUE(b->ok()) << b->proc().log();
  const std::vector<Labels> series = FourSeries();
  const int next = WarmUp(*b, series[0], [&](int from, int to) { return Batch(series, from, to); });
  ASSERT_GT(next, 0);
  // Bad requests first: no incident yet.
  auto c = b->Client();
  EXPECT_EQ(c->Get("/api/v1/incidents?limit=0")->status, 400);
  EXPECT_EQ(c->Get("/api/v1/incidents/abc")->status, 400);
  EXPECT_EQ(c->Get("/api/v1/incidents/999")->status, 404);

  // cart's two series first, frontend's a second later.
  const auto injected = std::chrono::steady_clock::now();
  ASSERT_EQ(b->Write(Batch(series, next, next + 1, {0, 1})), 204);
  nlohmann::json list;
  ASSERT_TRUE(WaitFor(
      [&] {
        list = nlohmann::json::parse(b->Get("/api/v1/incidents"), nullptr, false);
        return list.is_object() && !list["data"]["incidents"].empty() &&
               !list["data"]["incidents"][0]["causes"].empty();
      },
      10'000))
      << list.dump();
  const double ranked_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - injected).count();
  std::printf("incident first ranked %.3f s after the first anomalous sample was sent\n", ranked_s);
  EXPECT_LT(ranked_s, 5.0);  // issue 10's bar (a bound on a wait, not a timing benchmark)
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_EQ(b->Write(Batch(series, next + 1, next + 2, {2, 3})), 204);

  // All four members in one incident, cart (the first mover) ranked first.
  nlohmann::json inc;
  ASSERT_TRUE(WaitFor(
      [&] {
        list = nlohmann::json::parse(b->Get("/api/v1/incidents"), nullptr, false);
        if (!list.is_object() || list["data"]["incidents"].size() != 1) return false;
        const std::string id = std::to_string(list["data"]["incidents"][0]["id"].get<int>());
        inc = nlohmann::json::parse(b->Get("/api/v1/incidents/" + id), nullptr, false);
        return inc.is_object() && inc["data"]["members"].size() == 4;
      },
      10'000))
      << list.dump() << "\n"
      << inc.dump();
  const nlohmann::json& data = inc["data"];
  ASSERT_EQ(data["causes"].size(), 2u) << data.dump();
  EXPECT_EQ(data["causes"][0]["service"], "cart") << data.dump();
  EXPECT_NE(data["causes"][0]["explanation"].get<std::string>().find("before the first anomaly"),
            std::string::npos)
      << data.dump();
  EXPECT_EQ(data["state"], "open");
  const std::string id = std::to_string(data["id"].get<int>());
  std::printf("top cause: %s\n", data["causes"][0]["explanation"].get<std::string>().c_str());

  // Alertmanager: one incident alert, carrying the top service and the causes; no per-series one
  // even well past `for`.
  nlohmann::json alerts;
  ASSERT_TRUE(WaitFor(
      [&] {
        alerts = Alerts(aport, "BacksightIncident");
        return alerts.size() == 1 && alerts[0]["labels"].value("service", "") == "cart";
      },
      20'000))
      << alerts.dump() << "\n"
      << b->proc().log();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  alerts = Alerts(aport, "BacksightIncident");
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"]["incident_id"], id);
  EXPECT_NE(alerts[0]["annotations"]["causes"].get<std::string>().find("cart:"), std::string::npos);
  EXPECT_EQ(Alerts(aport, "BacksightAnomaly").size(), 0u);
  EXPECT_EQ(b->Metric("backsight_incidents_open"), 1);

  // kill -9 and restart: the incident is read back from SQLite with its members and causes.
  b->proc().Signal(SIGKILL);
  b->proc().Wait(10'000);
  b = std::make_unique<ServeProcess>(dir, yaml, "serve2");
  ASSERT_TRUE(b->ok()) << b->proc().log();
  nlohmann::json back = nlohmann::json::parse(b->Get("/api/v1/incidents/" + id), nullptr, false);
  ASSERT_TRUE(back.is_object()) << b->proc().log();
  EXPECT_EQ(back["data"]["members"].size(), 4u);
  EXPECT_EQ(back["data"]["causes"][0]["service"], "cart");
  EXPECT_EQ(back["data"]["state"], "open");
  EXPECT_EQ(b->Metric("backsight_incidents_restored"), 1);
  // Still one incident alert after the restart, and the anomalies the write-ahead log replay
  // detects again are not added a second time.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  alerts = Alerts(aport, "BacksightIncident");
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"]["incident_id"], id);
  back = nlohmann::json::parse(b->Get("/api/v1/incidents/" + id), nullptr, false);
  EXPECT_EQ(back["data"]["members"].size(), 4u) << back.dump();
  EXPECT_EQ(nlohmann::json::parse(b->Get("/api/v1/incidents"))["data"]["incidents"].size(), 1u);
}

// An incident whose members are back to normal for incidents.resolve_after resolves, and its
// Alertmanager alert with it.
TEST(IncidentsIntegration, ResolvedIncidentResolvesItsAlert) {
  if (!HaveBinary(kAlertmanager)) {
    GTEST_SKIP() << kAlertmanager << " is not installed (scripts/install-deps.sh --test)";
  }
  TempDir dir;
  AlertmanagerProcess am(dir, kAlertmanager);
  ASSERT_TRUE(am.ok()) << am.log();
  const int aport = am.port();
  // resend_interval 10s: a firing alert's endsAt is 40 s ahead, so it can only leave
  // Alertmanager's active list within this test by being resolved.
  ServeProcess b(dir,
                 "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                     "\nalerting:\n  alertmanager_url: http://127.0.0.1:" + std::to_string(aport) +
                     "\n  for: 1s\n  resend_interval: 10s\n"
                     "incidents: {enabled: true, resolve_after: 1s}\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  const std::vector<Labels> series = {FourSeries()[0]};
  const int next = WarmUp(b, series[0], [&](int from, int to) { return Batch(series, from, to); });
  ASSERT_GT(next, 0);
  ASSERT_EQ(b.Write(Batch(series, next, next + 1, {0})), 204);
  ASSERT_TRUE(WaitFor([&] { return Alerts(aport, "BacksightIncident").size() == 1; }, 20'000))
      << b.Get("/api/v1/incidents");
  // Normal samples until the episode ends; then the incident resolves and so does its alert.
  int i = next + 1;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (b.State(series[0])["in_anomaly"] == false) return true;
        if (i < next + 5000) b.Write(Batch(series, i, i + 10));
        i += 10;
        return false;
      },
      30'000));
  nlohmann::json list;
  ASSERT_TRUE(WaitFor(
      [&] {
        list = nlohmann::json::parse(b.Get("/api/v1/incidents"), nullptr, false);
        return list.is_object() && list["data"]["incidents"].size() == 1 &&
               list["data"]["incidents"][0]["state"] == "resolved";
      },
      10'000))
      << list.dump();
  EXPECT_FALSE(list["data"]["incidents"][0]["end"].is_null());
  ASSERT_TRUE(WaitFor([&] { return Alerts(aport, "BacksightIncident").empty(); }, 20'000))
      << Alerts(aport, "BacksightIncident").dump();
}

// Warms up latency series of frontend and cart (no shared label but `__name__`), turns frontend
// anomalous, then cart 0.5 s later, and expects one incident with cart (the callee in the
// service graph `b` knows) ranked first; its causes in `*causes`.
void ExpectOneIncidentCalleeFirst(ServeProcess& b, nlohmann::json* causes_out) {
  std::vector<Labels> series = {{{"__name__", "latency_seconds"}, {"service", "frontend"}},
                                {{"__name__", "latency_seconds"}, {"service", "cart"}}};
  for (auto& l : series) SortLabels(&l);
  const int next = WarmUp(b, series[0], [&](int from, int to) { return Batch(series, from, to); });
  ASSERT_GT(next, 0);
  ASSERT_EQ(b.Write(Batch(series, next, next + 1, {0})), 204);  // the caller first
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(b.Write(Batch(series, next + 1, next + 2, {1})), 204);
  nlohmann::json inc;
  ASSERT_TRUE(WaitFor(
      [&] {
        inc = nlohmann::json::parse(b.Get("/api/v1/incidents/1"), nullptr, false);
        return inc.is_object() && inc["data"]["members"].size() == 2;
      },
      10'000))
      << inc.dump() << "\n"
      << b.Get("/api/v1/incidents");
  const nlohmann::json& causes = inc["data"]["causes"];
  ASSERT_EQ(causes.size(), 2u) << inc.dump();
  EXPECT_EQ(causes[0]["service"], "cart");
  EXPECT_EQ(causes[1]["service"], "frontend");
  *causes_out = causes;
  auto list = nlohmann::json::parse(b.Get("/api/v1/incidents?limit=5"));
  EXPECT_EQ(list["data"]["incidents"].size(), 1u) << list.dump();
}

// The service graph from POST /v1/traces groups two services with no shared label into one
// incident and ranks the callee first although the caller turned anomalous first.
TEST(IncidentsIntegration, TraceGraphGroupsAndRanksCalleeFirst) {
  TempDir dir;
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nincidents:\n  enabled: true\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  // frontend's server span calls cart's: the edge frontend -> cart.
  const std::string spans = R"({"resourceSpans":[
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"frontend"}}]},
     "scopeSpans":[{"spans":[{"traceId":"0707070707070707070707070707aaaa",
      "spanId":"0101010101010101","name":"GET /","kind":"SPAN_KIND_SERVER",
      "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000005000000"}]}]},
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
     "scopeSpans":[{"spans":[{"traceId":"0707070707070707070707070707aaaa",
      "spanId":"0202020202020202","parentSpanId":"0101010101010101","name":"GET /cart",
      "kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1700000000001000000",
      "endTimeUnixNano":"1700000000004000000"}]}]}]})";
  ASSERT_EQ(b.PostRaw("/v1/traces", spans, "application/json"), 200);
  ASSERT_TRUE(WaitFor(
      [&] {
        return b.Get("/api/v1/trace/metrics")
                   .find(
                       "traces_service_graph_request_total{client=\"frontend\",server=\"cart\"}") !=
               std::string::npos;
      },
      10'000))
      << b.Get("/api/v1/trace/metrics");
  nlohmann::json causes;
  ASSERT_NO_FATAL_FAILURE(ExpectOneIncidentCalleeFirst(b, &causes));
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_NE(causes[1]["explanation"].get<std::string>().find("likely a victim"), std::string::npos)
      << causes.dump();
  std::printf("graph-ranked causes: 1. %s / 2. %s\n",
              causes[0]["explanation"].get<std::string>().c_str(),
              causes[1]["explanation"].get<std::string>().c_str());
}

// The same without traces: the edge frontend -> cart comes from incidents.service_graph.
TEST(IncidentsIntegration, GivenServiceGraphGroupsAndRanksCalleeFirst) {
  TempDir dir;
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nincidents:\n  enabled: true\n  service_graph:\n"
                          "    - {caller: frontend, callee: cart}\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  nlohmann::json causes;
  ASSERT_NO_FATAL_FAILURE(ExpectOneIncidentCalleeFirst(b, &causes));
}

// Incident 1 of `b` once `done(incident)` holds (within `timeout_ms`); else the last one read.
nlohmann::json WaitForIncident(const ServeProcess& b,
                               const std::function<bool(const nlohmann::json&)>& done,
                               int64_t timeout_ms = 15'000) {
  nlohmann::json inc;
  WaitFor(
      [&] {
        inc = nlohmann::json::parse(b.Get("/api/v1/incidents/1"), nullptr, false);
        return inc.is_object() && inc["data"].is_object() && done(inc["data"]);
      },
      timeout_ms);
  return inc;
}

// frontend is CPU-starved (every call it makes waits ~100 ms longer), only cart has a metric
// anomaly: the trace evidence ranks frontend first. After kill -9 + restart, and again after a
// clean restart, the span ring is empty and the evidence recomputed from it has no traces: the
// stored trace cause stays first, word for word. Spans posted afterwards for the incident's own
// periods (healthy) give fresh evidence from enough traces, which replaces it: cart, by members.
TEST(IncidentsIntegration, RestoredIncidentKeepsItsTraceCause) {
  TempDir dir;
  const std::string yaml = "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                           "\nincidents:\n  enabled: true\n  gap: 1m\n  resolve_after: 1h\n";
  auto b = std::make_unique<ServeProcess>(dir, yaml);
  ASSERT_TRUE(b->ok()) << b->proc().log();
  std::vector<Labels> series = {{{"__name__", "latency_seconds"}, {"service", "cart"}}};
  SortLabels(&series[0]);
  const int next = WarmUp(*b, series[0], [&](int from, int to) { return Batch(series, from, to); });
  ASSERT_GT(next, 0);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // Healthy traces 4 to 1.5 minutes ago (the baseline), frontend waiting ~100 ms longer on every
  // call in the last 45 s (the window).
  ASSERT_EQ(
      b->PostRaw("/v1/traces",
                 CheckoutTraces(now - 240 * kNanosPerSecond, 2 * kNanosPerSecond, 80, 1, 2, 10, 10),
                 "application/json"),
      200);
  ASSERT_EQ(b->PostRaw("/v1/traces",
                       CheckoutTraces(now - 45 * kNanosPerSecond, kNanosPerSecond * 3 / 4, 60, 1000,
                                      100, 10, 10),
                       "application/json"),
            200);
  ASSERT_EQ(b->Write(Batch(series, next, next + 1, {0})), 204);
  const auto traced_first = [](const nlohmann::json& d) {
    return !d["causes"].empty() && d["causes"][0]["service"] == "frontend" &&
           d["causes"][0]["evidence"] == "trace_latency";
  };
  nlohmann::json inc = WaitForIncident(*b, traced_first);
  ASSERT_TRUE(inc.is_object() && traced_first(inc["data"])) << inc.dump(1);
  const nlohmann::json top = inc["data"]["causes"][0];
  std::printf("top cause before the restarts: %s\n", top["explanation"].get<std::string>().c_str());
  ASSERT_EQ(b->PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);

  // After a restart the evidence is due at least once; with nothing in the (empty) ring started
  // before the incident it is skipped (it could not replace the kept cause): the cause stays.
  const auto expect_kept = [&](const char* how) {
    ASSERT_TRUE(b->ok()) << how << "\n" << b->proc().log();
    ASSERT_TRUE(WaitFor(
        [&] {
          return b->Metric("backsight_incident_trace_evidence_skipped_total") >= 1 &&
                 b->Metric("backsight_incident_trace_evidence_runs_total") == 0;
        },
        10'000))
        << how;
    const nlohmann::json back =
        nlohmann::json::parse(b->Get("/api/v1/incidents/1"), nullptr, false);
    ASSERT_TRUE(back.is_object() && back["data"].is_object()) << how << "\n" << back.dump();
    EXPECT_EQ(back["data"]["state"], "open") << how;
    ASSERT_FALSE(back["data"]["causes"].empty()) << how << "\n" << back.dump(1);
    const nlohmann::json& c = back["data"]["causes"][0];
    EXPECT_EQ(c["service"], "frontend") << how << "\n" << back.dump(1);
    EXPECT_EQ(c["evidence"], "trace_latency") << how;
    EXPECT_EQ(c["explanation"], top["explanation"]) << how;
    EXPECT_EQ(back["data"]["top_service"], "frontend") << how;
  };
  b->proc().Signal(SIGKILL);
  b->proc().Wait(10'000);
  b = std::make_unique<ServeProcess>(dir, yaml, "serve2");
  ASSERT_NO_FATAL_FAILURE(expect_kept("after kill -9"));
  b->proc().Signal(SIGTERM);
  ASSERT_EQ(b->proc().Wait(20'000), 0) << b->proc().log();
  b = std::make_unique<ServeProcess>(dir, yaml, "serve3");
  ASSERT_NO_FATAL_FAILURE(expect_kept("after a clean restart"));

  // Healthy traces of the incident's baseline and window: fresh evidence from enough traces, not
  // significant, replaces the kept cause.
  const int64_t start = inc["data"]["start_ns"].get<int64_t>();
  const int64_t later = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  ASSERT_EQ(b->PostRaw("/v1/traces",
                       CheckoutTraces(start - 240 * kNanosPerSecond, 2 * kNanosPerSecond, 80, 5000,
                                      2, 10, 10),
                       "application/json"),
            200);
  ASSERT_EQ(b->PostRaw("/v1/traces",
                       CheckoutTraces(later - 30 * kNanosPerSecond, kNanosPerSecond / 2, 40, 6000,
                                      2, 10, 10),
                       "application/json"),
            200);
  const auto members_first = [](const nlohmann::json& d) {
    return !d["causes"].empty() && d["causes"][0]["service"] == "cart" &&
           d["causes"][0]["evidence"] == "members";
  };
  inc = WaitForIncident(*b, members_first, 30'000);
  EXPECT_TRUE(inc.is_object() && members_first(inc["data"])) << inc.dump(1);
}

TEST(IncidentsIntegration, SecurityFindingJoinsTheServiceIncident) {
  if (!HaveBinary(kAlertmanager)) {
    GTEST_SKIP() << kAlertmanager << " is not installed (scripts/install-deps.sh --test)";
  }
  TempDir dir;
  const int aport = FreePort();
  WriteFile(dir.file("am.yml"),
            "route: {receiver: blackhole, group_wait: 0s, group_interval: 1s}\n"
            "receivers: [{name: blackhole}]\n");
  Process am(
      {kAlertmanager, "--config.file=" + dir.file("am.yml"), "--storage.path=" + dir.file("am"),
       "--web.listen-address=127.0.0.1:" + std::to_string(aport), "--cluster.listen-address="},
      dir.file("am.log"));
  ASSERT_TRUE(WaitFor([&] { return GetJson(aport, "/api/v2/status").is_object(); }, 30'000))
      << am.log();
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nlogs:\n  security: true\nalerting:\n  alertmanager_url: "
                          "http://127.0.0.1:" +
                          std::to_string(aport) +
                          "\n  for: 1s\n  resend_interval: 10s\n"
                          "incidents:\n  enabled: true\n  gap: 1m\n  resolve_after: 1h\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  std::vector<Labels> series = {{{"__name__", "latency_seconds"}, {"service", "web"}}};
  SortLabels(&series[0]);
  const int next = WarmUp(b, series[0], [&](int from, int to) { return Batch(series, from, to); });
  ASSERT_GT(next, 0);
  ASSERT_EQ(b.Write(Batch(series, next, next + 1, {0})), 204);
  ASSERT_EQ(b.PostRaw("/loki/api/v1/push", LokiJsonBody("web", BruteForceAccessLines()),
                      "application/json"),
            204);
  // The finding is judged within 5 s and joins web's incident as a security member.
  nlohmann::json inc, security;
  ASSERT_TRUE(WaitFor(
      [&] {
        inc = nlohmann::json::parse(b.Get("/api/v1/incidents/1"), nullptr, false);
        if (!inc.is_object() || !inc["data"].is_object()) return false;
        for (const auto& m : inc["data"]["members"]) {
          if (m["signal"] == "security") security = m;
        }
        return security.is_object();
      },
      20'000))
      << inc.dump() << "\n"
      << b.Get("/api/v1/incidents");
  EXPECT_EQ(security["service"], "web") << security.dump();
  EXPECT_EQ(security["labels"]["source_ip"], "203.0.113.66") << security.dump();
  EXPECT_EQ(security["indicator"], "brute_force from 203.0.113.66");
  EXPECT_NE(security["evidence"].get<std::string>().find("40 failed logins"), std::string::npos)
      << security.dump();
  bool has_metric = false;
  for (const auto& m : inc["data"]["members"]) has_metric |= m["signal"] == "metric";
  EXPECT_TRUE(has_metric) << inc.dump();
  EXPECT_EQ(nlohmann::json::parse(b.Get("/api/v1/incidents"))["data"]["incidents"].size(), 1u)
      << b.Get("/api/v1/incidents");
  // Alertmanager: one incident alert for web, and the security finding's own alert (issue 14).
  nlohmann::json alerts;
  ASSERT_TRUE(WaitFor(
      [&] {
        alerts = Alerts(aport, "BacksightIncident");
        // Re-sent within a second of a member joining: the summary counts the security member.
        return alerts.size() == 1 && alerts[0]["labels"].value("service", "") == "web" &&
               alerts[0]["annotations"]["summary"].get<std::string>().find("1 security") !=
                   std::string::npos &&
               Alerts(aport, "BacksightSecurityFinding").size() == 1;
      },
      20'000))
      << alerts.dump() << "\n"
      << Alerts(aport, "BacksightSecurityFinding").dump() << "\n"
      << b.proc().log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  alerts = Alerts(aport, "BacksightIncident");
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"]["incident_id"], "1");
  EXPECT_EQ(Alerts(aport, "BacksightAnomaly").size(), 0u);
  std::printf("incident with a security member: %s\n",
              alerts[0]["annotations"]["summary"].get<std::string>().c_str());
}

}  // namespace
}  // namespace backsight::testing
