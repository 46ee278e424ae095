// MemberFromSeries: the engine's series as incident members (signal, indicator, service, labels);
// the members of security findings, trace findings and query regressions; IncidentService
// grouping them with episodes on the API; the live ranking with trace latency evidence from the
// spans posted to /v1/traces.
#include "backsight/server/incident_service.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "backsight/server/trace_endpoints.h"
#include "checkout_traces.h"

namespace backsight::server {
namespace {

using backsight::testing::CheckoutTraces;

TEST(MemberFromSeries, NamesSignalIndicatorServiceAndGroupingLabels) {
  incidents::Member m = MemberFromSeries({{"__name__", "backsight_trace_p99_seconds"},
                                          {"service_name", "cart"},
                                          {"span_name", "GET /cart"}},
                                         0xabc);
  EXPECT_EQ(m.signal, incidents::Signal::kTrace);
  EXPECT_EQ(m.indicator, "p99 latency of GET /cart");
  EXPECT_EQ(m.service, "cart");
  EXPECT_EQ(m.labels, (Labels{{"service", "cart"}}));
  EXPECT_EQ(m.key, "series:" + FormatFingerprint(0xabc));

  m = MemberFromSeries(
      {{"__name__", "backsight_log_template_count"}, {"service", "api"}, {"template_id", "7"}}, 1);
  EXPECT_EQ(m.signal, incidents::Signal::kLog);
  EXPECT_EQ(m.indicator, "count of log template 7");

  m = MemberFromSeries({{"__name__", "http_latency"},
                        {"instance", "10.0.0.1:80"},
                        {"job", "web"},
                        {"path", "/x"},
                        {"pod", "web-1"}},
                       2);
  EXPECT_EQ(m.signal, incidents::Signal::kMetric);
  EXPECT_EQ(m.indicator, "http_latency");
  EXPECT_EQ(m.service, "web");  // no service label: the job names it (OTLP's service.name)
  EXPECT_EQ(
      m.labels,
      (Labels{{"instance", "10.0.0.1:80"}, {"job", "web"}, {"pod", "web-1"}, {"service", "web"}}));

  // `service` wins over `job`; no label naming one: no service.
  m = MemberFromSeries({{"__name__", "x"}, {"job", "otel"}, {"service", "cart"}}, 3);
  EXPECT_EQ(m.service, "cart");
  m = MemberFromSeries({{"__name__", "x"}, {"pod", "p-1"}}, 4);
  EXPECT_EQ(m.service, "");

  // Edge series: both ends kept as labels (the tracker relates the member to both services).
  m = MemberFromSeries({{"__name__", "backsight_trace_edge_failed_ratio"},
                        {"client", "frontend"},
                        {"server", "cart"}},
                       3);
  EXPECT_EQ(m.signal, incidents::Signal::kTrace);
  EXPECT_EQ(m.indicator, "failed ratio of frontend -> cart");
  EXPECT_EQ(m.labels, (Labels{{"client", "frontend"}, {"server", "cart"}}));
  EXPECT_EQ(incidents::MemberServices(m), (std::vector<std::string>{"frontend", "cart"}));
  m = MemberFromSeries(
      {{"__name__", "traces_service_graph_request_total"}, {"client", "a"}, {"server", "b"}}, 4);
  EXPECT_EQ(m.signal, incidents::Signal::kTrace);
  EXPECT_EQ(incidents::MemberServices(m), (std::vector<std::string>{"a", "b"}));
  // The postgres watch's series carry `database`, a grouping label.
  m = MemberFromSeries({{"__name__", "backsight_pg_statement_mean_seconds"},
                        {"database", "shop"},
                        {"fingerprint", "00000000000000ab"}},
                       5);
  EXPECT_EQ(m.labels, (Labels{{"database", "shop"}}));
}

TEST(MemberFromFindings, SecurityTraceAndDbMembers) {
  const int64_t now = 1'764'000'000'000'000'000LL;
  security::Finding sf;
  sf.source_ip = "203.0.113.66";
  sf.kind = security::Kind::kBruteForce;
  sf.score = 4.5;
  sf.start_s = 1'764'637'200;
  sf.evidence = "40 failed logins";
  incidents::Member m = MemberFromSecurityFinding(sf, "web", now);
  EXPECT_EQ(m.signal, incidents::Signal::kSecurity);
  EXPECT_EQ(m.key, "security:203.0.113.66:brute_force");
  EXPECT_EQ(m.indicator, "brute_force from 203.0.113.66");
  EXPECT_EQ(m.service, "web");
  EXPECT_EQ(m.labels, (Labels{{"service", "web"}, {"source_ip", "203.0.113.66"}}));
  EXPECT_EQ(m.start_ns, now);
  EXPECT_EQ(m.end_ns, now);
  EXPECT_EQ(m.peak_score, 4.5);
  EXPECT_NE(m.evidence.find("40 failed logins"), std::string::npos);
  EXPECT_NE(m.evidence.find("2025-12-02T01:00:00"), std::string::npos) << m.evidence;

  traces::Finding tf;
  tf.kind = "n_plus_one";
  tf.service = "cart";
  tf.operation = "SELECT * FROM items WHERE id = ?";
  tf.score = 12;
  tf.count = 3;
  tf.example_trace_id = "abcd";
  tf.explanation = "40 calls per parent against a median of 1";
  m = MemberFromTraceFinding(tf, now);
  EXPECT_EQ(m.signal, incidents::Signal::kTrace);
  EXPECT_EQ(m.key, "finding:n_plus_one:cart:SELECT * FROM items WHERE id = ?");
  EXPECT_EQ(m.indicator, "n_plus_one on SELECT * FROM items WHERE id = ?");
  EXPECT_EQ(m.labels, (Labels{{"service", "cart"}}));
  EXPECT_NE(m.evidence.find("example trace abcd"), std::string::npos);

  db::WatchFinding df;
  df.regression.fingerprint = 0xab;
  df.regression.mean_ms = 41;
  df.regression.baseline_ms = 3.1;
  df.regression.factor = 41 / 3.1;
  df.regression.since = now - 30'000'000'000LL;
  df.statement = "SELECT * FROM orders WHERE id = $1";
  df.plan_before = "Index Scan";
  df.plan_after = "Seq Scan";
  m = MemberFromDbRegression("shop", df, now);
  EXPECT_EQ(m.signal, incidents::Signal::kDatabase);
  EXPECT_EQ(m.key, "db:shop:00000000000000ab");
  EXPECT_EQ(m.indicator, "statement `SELECT * FROM orders WHERE id = $1`");
  EXPECT_EQ(m.service, "shop");
  EXPECT_EQ(m.labels, (Labels{{"database", "shop"}, {"service", "shop"}}));
  EXPECT_EQ(m.start_ns, df.regression.since);
  EXPECT_EQ(m.end_ns, now);
  EXPECT_EQ(m.peak_value, 41);
  EXPECT_EQ(m.baseline, 3.1);
  EXPECT_EQ(m.evidence, "plan Index Scan -> Seq Scan");
}

// Polls GET /api/v1/incidents/{id} until it has `members` members (5 s at most).
nlohmann::json WaitIncident(int port, int id, size_t members) {
  httplib::Client client("127.0.0.1", port);
  nlohmann::json inc;
  for (int i = 0; i < 100; ++i) {
    auto r = client.Get("/api/v1/incidents/" + std::to_string(id));
    if (r && r->status == 200) {
      inc = nlohmann::json::parse(r->body);
      if (inc["data"]["members"].size() == members) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return inc;
}

// A query regression (synthetic watch event) joins the incident of its database's statement
// series; seen again at the next snapshot it stays one member; the cause names the means.
TEST(IncidentService, DbRegressionJoinsItsDatabaseSeriesIncident) {
  ServeConfig cfg;
  cfg.incidents_enabled = true;
  IncidentService svc(cfg, nullptr);
  HttpServer http(HttpServerOptions{});
  svc.Register(&http);
  ASSERT_TRUE(http.Bind("127.0.0.1", 0).ok());
  ASSERT_TRUE(http.Start().ok());
  svc.Start(nullptr);
  svc.SetLive();
  const int64_t now = stream::WallNowNs();
  EpisodeChange c;
  c.kind = EpisodeChange::Kind::kStart;
  c.fp = 9;
  c.labels = {{"__name__", "backsight_pg_statement_calls_per_second"},
              {"database", "shop"},
              {"fingerprint", "00000000000000ab"}};
  c.wall_ns = now;
  c.score = 2;
  c.value = 50;
  c.yhat = 10;
  svc.OnEpisodeChange(EpisodeChange(c));
  db::WatchFinding df;
  df.regression.fingerprint = 0xab;
  df.regression.mean_ms = 41;
  df.regression.baseline_ms = 3.1;
  df.regression.factor = 41 / 3.1;
  df.regression.since = now - 1'000'000'000LL;
  df.statement = "SELECT * FROM orders WHERE id = $1";
  svc.OnDbRegression("shop", df);
  df.regression.mean_ms = 45;
  svc.OnDbRegression("shop", df);  // the next snapshot: the same member
  // Another database: its own incident.
  svc.OnDbRegression("billing", df);
  nlohmann::json inc = WaitIncident(http.port(), 1, 2);
  ASSERT_EQ(inc["data"]["members"].size(), 2u) << inc.dump();
  EXPECT_EQ(inc["data"]["members"][1]["signal"], "database");
  EXPECT_EQ(inc["data"]["members"][1]["key"], "db:shop:00000000000000ab");
  ASSERT_FALSE(inc["data"]["causes"].empty()) << inc.dump();
  EXPECT_EQ(inc["data"]["causes"][0]["service"], "shop");
  EXPECT_NE(inc["data"]["causes"][0]["explanation"].get<std::string>().find(
                "shop: statement `SELECT * FROM orders WHERE id = $1` mean 3.1 ms -> 41 ms (x13.2) "
                "since "),
            std::string::npos)
      << inc.dump();
  nlohmann::json other = WaitIncident(http.port(), 2, 1);
  ASSERT_EQ(other["data"]["members"].size(), 1u) << other.dump();
  EXPECT_EQ(other["data"]["members"][0]["service"], "billing");
  svc.Stop();
  http.Stop();
}

// A metric episode and a log anomaly event of the same service: one incident, served on the API.
TEST(IncidentService, LogEventJoinsTheMetricIncidentOnTheApi) {
  ServeConfig cfg;
  cfg.incidents_enabled = true;
  IncidentService svc(cfg, nullptr);
  ASSERT_TRUE(svc.Restore().ok());
  HttpServer http(HttpServerOptions{});
  svc.Register(&http);
  ASSERT_TRUE(http.Bind("127.0.0.1", 0).ok());
  ASSERT_TRUE(http.Start().ok());
  svc.Start(nullptr);
  EpisodeChange c;
  c.kind = EpisodeChange::Kind::kStart;
  c.fp = 7;
  c.labels = {{"__name__", "http_errors"}, {"service", "api"}};
  c.wall_ns = stream::WallNowNs();
  c.score = 4;
  c.value = 30;
  c.yhat = 3;
  svc.OnEpisodeChange(EpisodeChange(c));  // before SetLive (the WAL replay): ignored
  svc.SetLive();
  c.fp = 8;
  svc.OnEpisodeChange(EpisodeChange(c));
  logs::LogAnomalyEvent e;
  e.id = 1;
  e.kind = "new_template";
  e.service = "api";
  e.template_text = "Order <*> not found";
  e.score = 3;
  svc.OnLogEvent(e);
  httplib::Client client("127.0.0.1", http.port());
  nlohmann::json inc;
  for (int i = 0; i < 100; ++i) {
    auto r = client.Get("/api/v1/incidents/1");
    if (r && r->status == 200) {
      inc = nlohmann::json::parse(r->body);
      if (inc["data"]["members"].size() == 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(inc["data"]["members"].size(), 2u) << inc.dump();
  EXPECT_EQ(inc["data"]["members"][0]["key"], "series:" + FormatFingerprint(8));
  EXPECT_EQ(inc["data"]["members"][1]["signal"], "log");
  EXPECT_EQ(inc["data"]["members"][1]["indicator"],
            "new_template log template `Order <*> not found`");
  EXPECT_EQ(inc["data"]["causes"][0]["service"], "api");
  EXPECT_NE(inc["data"]["causes"][0]["explanation"].get<std::string>().find("http_errors rose x10"),
            std::string::npos)
      << inc.dump();
  EXPECT_EQ(client.Get("/api/v1/incidents/2")->status, 404);
  EXPECT_EQ(client.Get("/api/v1/incidents/x1")->status, 400);
  EXPECT_EQ(client.Get("/api/v1/incidents?limit=abc")->status, 400);
  auto list = nlohmann::json::parse(client.Get("/api/v1/incidents?limit=1")->body);
  EXPECT_EQ(list["data"]["incidents"].size(), 1u);
  EXPECT_FALSE(list["data"]["incidents"][0].contains("members"));
  svc.Stop();
  http.Stop();
}

// The value on the line "<name> <value>" of an exposition text, -1 when absent.
double MetricValue(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = ("\n" + text).find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size() - 1));
}

// What RankWithTraces read of the self-metrics.
struct RankMetrics {
  std::string text;             // SelfMetrics::Serialize of both services
  uint64_t spans_accepted = 0;  // TraceEndpoints::spans()
};

// Runs a serve-like pair of trace endpoints and incident service in process: posts 80 baseline
// traces (4 to 1.5 minutes before now) and 60 window traces (the last 45 s; the fault given by
// `wait_ms` and `cart_ms`), then a metric anomaly of `anomalous` now. Returns incident 1 once
// its first cause is `expect_first` (or after 10 s). `metrics` (optional): the services'
// self-metrics then.
nlohmann::json RankWithTraces(const ServeConfig& cfg, double wait_ms, double cart_ms,
                              const std::string& anomalous, const std::string& expect_first,
                              RankMetrics* metrics_out = nullptr) {
  constexpr int64_t kS = 1'000'000'000;
  SelfMetrics metrics;
  std::unique_ptr<Engine> no_engine;
  TraceEndpoints traces(cfg, no_engine, &metrics);
  IncidentService svc(cfg, nullptr);
  HttpServer http(HttpServerOptions{});
  traces.Register(&http);
  svc.Register(&http);
  EXPECT_TRUE(http.Bind("127.0.0.1", 0).ok());
  EXPECT_TRUE(http.Start().ok());
  SpanSource spans;
  if (cfg.incidents_trace_window_spans > 0) {
    spans = [&traces](traces::SpanRingCopy* out) { traces.CopyRecentSpans(out); };
  }
  svc.Start([&traces] { return traces.Edges(); }, spans);
  svc.SetLive();
  const int64_t now = stream::WallNowNs();
  httplib::Client client("127.0.0.1", http.port());
  auto r = client.Post("/v1/traces", CheckoutTraces(now - 240 * kS, 2 * kS, 80, 1, 2, 10, 10),
                       "application/json");
  EXPECT_TRUE(r && r->status == 200);
  r = client.Post("/v1/traces",
                  CheckoutTraces(now - 45 * kS, kS * 3 / 4, 60, 1000, wait_ms, 10, cart_ms),
                  "application/json");
  EXPECT_TRUE(r && r->status == 200);
  EpisodeChange c;
  c.kind = EpisodeChange::Kind::kStart;
  c.fp = 11;
  c.labels = {{"__name__", "http_server_errors"}, {"service", anomalous}};
  c.wall_ns = now;
  c.score = 4;
  c.value = 30;
  c.yhat = 3;
  svc.OnEpisodeChange(EpisodeChange(c));
  nlohmann::json inc;
  for (int i = 0; i < 200; ++i) {
    auto g = client.Get("/api/v1/incidents/1");
    if (g && g->status == 200) {
      inc = nlohmann::json::parse(g->body);
      const auto& causes = inc["data"]["causes"];
      if (!causes.empty() && causes[0]["service"] == expect_first) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (metrics_out != nullptr) {
    svc.MirrorMetrics(&metrics);
    traces.MirrorMetrics(&metrics);
    metrics_out->text = metrics.Serialize();
    metrics_out->spans_accepted = traces.spans();
  }
  svc.Stop();
  http.Stop();
  return inc;
}

// frontend is CPU-starved: every call it makes waits ~100 ms longer, its callees' server spans
// are unchanged, and only cart has a metric anomaly. The onset heuristic alone names cart; the
// trace evidence names frontend, "waiting on" its callees.
TEST(IncidentService, StarvedCallerRankedFirstByTraceEvidence) {
  ServeConfig cfg;
  cfg.incidents_enabled = true;
  RankMetrics metrics;
  nlohmann::json inc = RankWithTraces(cfg, 100, 10, "cart", "frontend", &metrics);
  const auto& causes = inc["data"]["causes"];
  ASSERT_FALSE(causes.empty()) << inc.dump();
  EXPECT_EQ(causes[0]["service"], "frontend") << inc.dump(1);
  const std::string text = causes[0]["explanation"].get<std::string>();
  EXPECT_EQ(text.rfind("frontend: frontend waits longer on 3 of its 3 callees", 0), 0u) << text;
  EXPECT_NE(text.find("trace latency attribution"), std::string::npos) << text;
  EXPECT_EQ(causes[0]["evidence"], "trace_latency") << inc.dump(1);
  EXPECT_EQ(inc["data"]["top_service"], "frontend");
  // Self-metrics: the evidence ran (and its time was counted); the ring holds every posted span
  // (fewer than incidents.trace_window_spans), its name table never filled.
  const std::string& mtext = metrics.text;
  EXPECT_GE(MetricValue(mtext, "backsight_incident_trace_evidence_runs_total"), 1) << mtext;
  EXPECT_GT(MetricValue(mtext, "backsight_incident_trace_evidence_seconds"), 0) << mtext;
  EXPECT_GT(metrics.spans_accepted, 0u);
  EXPECT_EQ(MetricValue(mtext, "backsight_span_ring_spans"),
            static_cast<double>(metrics.spans_accepted))
      << mtext;
  EXPECT_EQ(MetricValue(mtext, "backsight_span_ring_resets_total"), 0) << mtext;

  // Without the span ring (incidents.trace_window_spans: 0): today's ranking, cart first.
  cfg.incidents_trace_window_spans = 0;
  inc = RankWithTraces(cfg, 100, 10, "cart", "cart");
  ASSERT_FALSE(inc["data"]["causes"].empty()) << inc.dump();
  EXPECT_EQ(inc["data"]["causes"][0]["service"], "cart") << inc.dump(1);
  EXPECT_EQ(inc["data"]["causes"][0]["evidence"], "members") << inc.dump(1);
}

// The opposite: cart's own server spans take ~100 ms longer (frontend's waits unchanged) and only
// frontend has a metric anomaly: the trace evidence names cart, by its self time.
TEST(IncidentService, SlowCalleeRankedFirstByTraceEvidence) {
  ServeConfig cfg;
  cfg.incidents_enabled = true;
  nlohmann::json inc = RankWithTraces(cfg, 2, 110, "frontend", "cart");
  const auto& causes = inc["data"]["causes"];
  ASSERT_FALSE(causes.empty()) << inc.dump();
  EXPECT_EQ(causes[0]["service"], "cart") << inc.dump(1);
  const std::string text = causes[0]["explanation"].get<std::string>();
  EXPECT_EQ(text.rfind("cart: cart GET /cart self time ", 0), 0u) << text;
}

// A restored open incident keeping a stored trace cause, with no recent span started before it
// (the ring after a restart): its trace evidence is skipped, never computed from a copy of the
// spans; once a span older than its start is kept, it is computed again.
TEST(IncidentService, RestoredIncidentSkipsTraceEvidenceUntilSpansPredateIt) {
  const std::string db =
      ::testing::TempDir() + "incident_skip_" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  const int64_t now = stream::WallNowNs();
  incidents::Incident stored;
  stored.id = 1;
  stored.start_ns = stored.last_activity_ns = now - 10'000'000'000;  // young: due every second
  incidents::Member m = MemberFromSeries({{"__name__", "latency"}, {"service", "cart"}}, 7);
  m.start_ns = stored.start_ns;
  m.peak_score = 4;
  stored.members.push_back(m);
  incidents::LiveCause c;
  c.service = "frontend";
  c.explanation = "frontend: waits longer on cart (trace latency attribution)";
  c.evidence = incidents::kCauseByTraceLatency;
  stored.causes.push_back(c);
  store::StateStore st;
  ASSERT_TRUE(st.Open(db).ok());
  ASSERT_TRUE(st.WriteIncidents({{1, stored.start_ns, 0, store::kIncidentSchema,
                                  incidents::IncidentToJson(stored).dump()}})
                  .ok());
  ServeConfig cfg;
  cfg.incidents_enabled = true;
  IncidentService svc(cfg, &st);
  ASSERT_TRUE(svc.Restore().ok());
  std::atomic<int> copies{0};
  std::atomic<int64_t> floor{INT64_MAX};  // an empty ring
  svc.Start(
      nullptr,
      [&copies](traces::SpanRingCopy* out) {
        ++copies;
        out->spans.clear();
        out->names.clear();
      },
      [&floor] { return floor.load(); });
  const auto metric = [&svc](const char* name) {
    SelfMetrics metrics;
    svc.MirrorMetrics(&metrics);
    return MetricValue(metrics.Serialize(), name);
  };
  const auto wait_for = [](const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  };
  ASSERT_TRUE(
      wait_for([&] { return metric("backsight_incident_trace_evidence_skipped_total") >= 2; }));
  EXPECT_EQ(copies.load(), 0);
  EXPECT_EQ(metric("backsight_incident_trace_evidence_runs_total"), 0);
  floor = stored.start_ns + 1;  // spans from its start on: still no baseline
  const double skipped = metric("backsight_incident_trace_evidence_skipped_total");
  ASSERT_TRUE(wait_for(
      [&] { return metric("backsight_incident_trace_evidence_skipped_total") >= skipped + 1; }));
  EXPECT_EQ(copies.load(), 0);
  floor = stored.start_ns - 1;  // a span of its baseline period: computed again
  EXPECT_TRUE(wait_for([&] { return copies.load() >= 1; }));
  EXPECT_GE(metric("backsight_incident_trace_evidence_runs_total"), 1);
  svc.Stop();
  std::remove(db.c_str());
}

}  // namespace
}  // namespace backsight::server
