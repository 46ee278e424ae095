#include "backsight/server/config.h"

#include <gtest/gtest.h>

namespace backsight::server {
namespace {

TEST(ConfigTest, DefaultsAreValidAndLocal) {
  ServeConfig c;
  EXPECT_TRUE(ValidateConfig(c).ok());
  EXPECT_EQ(c.listen.rfind("127.0.0.1:", 0), 0u);
  ServeConfig d;
  EXPECT_TRUE(LoadConfigText("", "empty.yml", &d).ok());
  EXPECT_EQ(d.listen, c.listen);
}

TEST(ConfigTest, FullConfigParses) {
  ServeConfig c;
  Status st = LoadConfigText(R"(
listen: 127.0.0.1:0
state_dir: /tmp/x
checkpoint_interval: 30s
workers: 2
series: {max_active: 1000, stale_after: 10m}
limits: {queue_max_samples: 50000, max_body_bytes: 1048576}
auth: {bearer_token: secret}
alerting:
  alertmanager_url: http://127.0.0.1:9093
  for: 1m30s
  resend_interval: 500ms
global: {scrape_interval: 5s, scrape_timeout: 2s}
scrape_configs:
  - job_name: node
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:9100", "localhost:9101"]
output_remote_write: {url: "http://127.0.0.1:9090/api/v1/write", interval: 10s}
)",
                             "t.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.checkpoint_interval_ms, 30'000);
  EXPECT_EQ(c.max_series, 1000u);
  EXPECT_EQ(c.series_stale_after_ms, 600'000);
  EXPECT_EQ(c.alert_for_ms, 90'000);
  EXPECT_EQ(c.alert_resend_ms, 500);
  EXPECT_EQ(c.bearer_token, "secret");
  ASSERT_EQ(c.scrape_jobs.size(), 1u);
  EXPECT_EQ(c.scrape_jobs[0].interval_ms, 1000);
  EXPECT_EQ(c.scrape_jobs[0].targets.size(), 2u);
  EXPECT_EQ(c.output_remote_write_interval_ms, 10'000);
}

void ExpectError(const std::string& yaml, const std::string& key) {
  ServeConfig c;
  Status st = LoadConfigText(yaml, "bad.yml", &c);
  ASSERT_FALSE(st.ok()) << yaml;
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find(key), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("bad.yml"), std::string::npos) << st.message();
}

TEST(ConfigTest, BadValuesNameTheKey) {
  ExpectError("listen: nonsense", "listen");
  ExpectError("listen: 127.0.0.1:70000", "listen");
  ExpectError("checkpoint_interval: 5 parsecs", "checkpoint_interval");
  ExpectError("series: {max_active: 0}", "series.max_active");
  ExpectError("series: {max_active: -3}", "series.max_active");
  ExpectError("series: {colour: red}", "series.colour");
  ExpectError("unknown_top: 1", "unknown_top");
  ExpectError("alerting: {alertmanager_url: ftp://x}", "alerting.alertmanager_url");
  ExpectError("alerting: {for: soon}", "alerting.for");
  ExpectError("scrape_configs: [{job_name: a, static_configs: [{targets: [nohostport]}]}]",
              "scrape_configs[0].static_configs[0].targets[0]");
  ExpectError("scrape_configs: [{static_configs: []}]", "scrape_configs[0].job_name");
  ExpectError("scrape_configs: [{job_name: a}, {job_name: a}]", "scrape_configs[1].job_name");
  ExpectError("workers: lots", "workers");
  ExpectError("listen: [1, 2]", "listen");
  ExpectError("auth: {bearer_token_file: /nonexistent/token}", "auth.bearer_token_file");
}

TEST(ConfigTest, LogFilesParseWithDefaultsAndAreValidated) {
  ServeConfig c;
  ASSERT_TRUE(
      LoadConfigText("log_files:\n  - path: /var/log/app.log\n"
                     "  - {path: /tmp/b.log, header: syslog, multiline: none, service: b}\n",
                     "ok.yml", &c)
          .ok());
  ASSERT_EQ(c.log_files.size(), 2u);
  EXPECT_EQ(c.log_files[0].path, "/var/log/app.log");
  EXPECT_EQ(c.log_files[0].header, "raw");
  EXPECT_EQ(c.log_files[0].multiline, "indent");
  EXPECT_EQ(c.log_files[0].service, "app.log");  // the base name
  EXPECT_EQ(c.log_files[1].header, "syslog");
  EXPECT_EQ(c.log_files[1].multiline, "none");
  EXPECT_EQ(c.log_files[1].service, "b");
  ExpectError("log_files: {path: a}", "log_files");
  ExpectError("log_files: [{header: raw}]", "log_files[0].path");
  ExpectError("log_files: [{path: /x/}]", "log_files[0].path");
  ExpectError("log_files: [{path: a, header: '<Date'}]", "log_files[0].header");
  ExpectError("log_files: [{path: a, header: nosuchpreset}]", "log_files[0].header");
  ExpectError("log_files: [{path: a, multiline: yes}]", "log_files[0].multiline");
  ExpectError("log_files: [{path: a, colour: red}]", "log_files[0].colour");
  ExpectError("log_files: [{path: a}, {path: a}]", "log_files[1].path");
  ExpectError("log_files: [{path: /x/a.log}, {path: /y/a.log}]", "log_files[1].service");
  ExpectError("logs: {enabled: false}\nlog_files: [{path: a}]", "log_files");
}

TEST(ConfigTest, PostgresTargetsParseAndAreValidated) {
  ServeConfig c;
  ASSERT_TRUE(LoadConfigText("postgres:\n  - dsn: postgresql://u@db1/app\n"
                             "  - {dsn: 'host=db2 dbname=x', interval: 15s}\n",
                             "ok.yml", &c)
                  .ok());
  ASSERT_EQ(c.postgres.size(), 2u);
  EXPECT_EQ(c.postgres[0].dsn, "postgresql://u@db1/app");
  EXPECT_EQ(c.postgres[0].interval_ms, 60'000);
  EXPECT_EQ(c.postgres[1].dsn, "host=db2 dbname=x");
  EXPECT_EQ(c.postgres[1].interval_ms, 15'000);
  ExpectError("postgres: {dsn: x}", "postgres");
  ExpectError("postgres: [{interval: 1m}]", "postgres[0].dsn");
  ExpectError("postgres: [{dsn: x, interval: 10ms}]", "postgres[0].interval");
  ExpectError("postgres: [{dsn: x, colour: red}]", "postgres[0].colour");
}

TEST(ConfigTest, HttpLimitsParseAndAreValidated) {
  ServeConfig c;
  Status st = LoadConfigText(
      "limits: {max_connections: 100, max_inflight_body_bytes: 268435456, header_timeout: 5s,\n"
      "         idle_timeout: 1m, body_timeout: 2m}\n",
      "t.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.max_connections, 100u);
  EXPECT_EQ(c.max_inflight_body_bytes, 268435456u);
  EXPECT_EQ(c.header_timeout_ms, 5'000);
  EXPECT_EQ(c.idle_timeout_ms, 60'000);
  EXPECT_EQ(c.body_timeout_ms, 120'000);
  ExpectError("limits: {max_connections: 0}", "limits.max_connections");
  ExpectError("limits: {max_connections: 2000000}", "limits.max_connections");
  ExpectError("limits: {max_connections: many}", "limits.max_connections");
  ExpectError("limits: {header_timeout: 10ms}", "limits.header_timeout");
  ExpectError("limits: {idle_timeout: never}", "limits.idle_timeout");
  ExpectError("limits: {body_timeout: -1s}", "limits.body_timeout");
  // Smaller than one largest request: nothing of that size could ever be accepted.
  ExpectError("limits: {max_inflight_body_bytes: 1048576}", "limits.max_inflight_body_bytes");
}

TEST(ConfigTest, SecurityRetentionParsesAndIsValidated) {
  ServeConfig d;
  EXPECT_EQ(d.logs_security_retention_ms, 86'400'000);  // one day
  ServeConfig c;
  Status st = LoadConfigText("logs: {security: true, security_retention: 7d}\n", "t.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.logs_security_retention_ms, 7 * 86'400'000LL);
  ExpectError("logs: {security_retention: 500ms}", "logs.security_retention");
  ExpectError("logs: {security_retention: forever}", "logs.security_retention");
  ExpectError("logs: {security_retention: [1h]}", "logs.security_retention");
}

TEST(ConfigTest, HistoryParsesAndIsValidated) {
  ServeConfig c;
  ASSERT_TRUE(LoadConfigText("history: {url: \"http://prom:9090\", lookback: 72h, concurrency: 8, "
                             "timeout: 2s, step: 1m}",
                             "t", &c)
                  .ok());
  EXPECT_EQ(c.history_url, "http://prom:9090");
  EXPECT_EQ(c.history_lookback_ms, 72 * 3'600'000LL);
  EXPECT_EQ(c.history_concurrency, 8);
  EXPECT_EQ(c.history_timeout_ms, 2'000);
  EXPECT_EQ(c.history_step_ms, 60'000);
  ServeConfig d;
  EXPECT_TRUE(d.history_url.empty()) << "warm start is off by default";
  EXPECT_EQ(d.history_lookback_ms, 7 * 86'400'000LL);
  ExpectError("history: {url: prom:9090}", "history.url");
  ExpectError("history: {concurrency: 0}", "history.concurrency");
  ExpectError("history: {concurrency: 65}", "history.concurrency");
  ExpectError("history: {lookback: forever}", "history.lookback");
  ExpectError("history: {depth: 3}", "history.depth");
}

TEST(ConfigTest, SyntaxErrorNamesLine) {
  ServeConfig c;
  Status st = LoadConfigText("listen: a\n  bad: [", "s.yml", &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("s.yml:"), std::string::npos) << st.message();
}

TEST(ConfigTest, Durations) {
  int64_t ms;
  ASSERT_TRUE(ParseDurationMs("1h2m3s4ms", &ms).ok());
  EXPECT_EQ(ms, 3'723'004);
  EXPECT_FALSE(ParseDurationMs("", &ms).ok());
  EXPECT_FALSE(ParseDurationMs("10", &ms).ok());
  EXPECT_FALSE(ParseDurationMs("1.5s", &ms).ok());
  EXPECT_FALSE(ParseDurationMs("99999999999999999999s", &ms).ok());
}

}  // namespace
}  // namespace backsight::server

namespace backsight::server {
namespace {

TEST(ConfigTest, IncidentsKeysParseAndSwitchItemAlerts) {
  ServeConfig c;
  c.alertmanager_url = "http://127.0.0.1:9093";
  EXPECT_TRUE(ItemAlertsOn(c));
  Status st = LoadConfigText(R"(
incidents:
  enabled: true
  gap: 30s
  resolve_after: 10m
  max_open: 5
  max_members: 50
  trace_window_spans: 2000
)",
                             "inc.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(c.incidents_enabled);
  EXPECT_EQ(c.incidents_gap_ms, 30'000);
  EXPECT_EQ(c.incidents_resolve_after_ms, 600'000);
  EXPECT_EQ(c.incidents_max_open, 5u);
  EXPECT_EQ(c.incidents_max_members, 50u);
  EXPECT_EQ(c.incidents_trace_window_spans, 2000u);
  EXPECT_EQ(ServeConfig().incidents_trace_window_spans, 100'000u);  // the default
  EXPECT_FALSE(ItemAlertsOn(c));  // one alert per incident instead
  ASSERT_TRUE(LoadConfigText("incidents: {series_alerts: true}\n", "inc.yml", &c).ok());
  EXPECT_TRUE(ItemAlertsOn(c));
  ServeConfig d;
  st = LoadConfigText("incidents:\n  gaps: 1m\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("unknown key"), std::string::npos) << st.ToString();
  st = LoadConfigText("incidents:\n  max_open: 0\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("incidents.max_open"), std::string::npos) << st.ToString();
  ASSERT_TRUE(LoadConfigText("incidents:\n  trace_window_spans: 0\n", "off.yml", &d).ok());
  EXPECT_EQ(d.incidents_trace_window_spans, 0u);  // off
  st = LoadConfigText("incidents:\n  trace_window_spans: -1\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("incidents.trace_window_spans"), std::string::npos) << st.ToString();
}

TEST(ConfigTest, IncidentsServiceGraphParsesAndIsChecked) {
  ServeConfig c;
  Status st = LoadConfigText(
      "incidents:\n  service_graph:\n    - {caller: web, callee: cart}\n"
      "    - caller: cart\n      callee: db\n",
      "graph.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::vector<std::pair<std::string, std::string>> want = {{"web", "cart"}, {"cart", "db"}};
  EXPECT_EQ(c.incidents_service_graph, want);
  ServeConfig d;
  st = LoadConfigText("incidents:\n  service_graph: {caller: a, callee: b}\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("incidents.service_graph"), std::string::npos) << st.ToString();
  st = LoadConfigText("incidents:\n  service_graph:\n    - {caller: a}\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("incidents.service_graph[0]"), std::string::npos) << st.ToString();
  st = LoadConfigText("incidents:\n  service_graph:\n    - {caller: a, callee: b, weight: 2}\n",
                      "bad.yml", &d);
  EXPECT_NE(st.message().find("unknown key"), std::string::npos) << st.ToString();
}

TEST(ConfigTest, TracesKeysParseAndAreChecked) {
  ServeConfig c;
  EXPECT_TRUE(c.trace_findings);
  EXPECT_EQ(c.trace_wait_ms, 30'000);
  Status st = LoadConfigText(
      "traces:\n  findings: false\n  trace_wait: 2s\n  max_open_traces: 9\n  max_findings: 3\n",
      "traces.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(c.trace_findings);
  EXPECT_EQ(c.trace_wait_ms, 2'000);
  EXPECT_EQ(c.trace_max_open_traces, 9u);
  EXPECT_EQ(c.trace_max_findings, 3u);
  ServeConfig d;
  st = LoadConfigText("traces:\n  wait: 1s\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("traces.wait"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("unknown key"), std::string::npos) << st.ToString();
  st = LoadConfigText("traces:\n  trace_wait: 10ms\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("traces.trace_wait"), std::string::npos) << st.ToString();
  st = LoadConfigText("traces:\n  max_findings: 0\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("traces.max_findings"), std::string::npos) << st.ToString();
}

TEST(ConfigTest, LogsKeysParseAndAreChecked) {
  ServeConfig c;
  Status st = LoadConfigText(R"(
logs:
  enabled: false
  max_services: 7
  max_templates: 500
  bucket: 30s
  max_events: 20
  template_series: false
)",
                             "logs.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(c.logs_enabled);
  EXPECT_EQ(c.logs_max_services, 7u);
  EXPECT_EQ(c.logs_max_templates, 500u);
  EXPECT_EQ(c.logs_bucket_ms, 30'000);
  EXPECT_EQ(c.logs_max_events, 20u);
  EXPECT_FALSE(c.logs_template_series);
  ServeConfig d;
  st = LoadConfigText("logs:\n  buckets: 1m\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("logs"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("unknown key"), std::string::npos) << st.ToString();
  st = LoadConfigText("logs:\n  bucket: 10ms\n", "bad.yml", &d);
  EXPECT_NE(st.message().find("logs.bucket"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace backsight::server

namespace backsight::server {
namespace {

TEST(ConfigTest, ExhaustionRulesParseAndAreValidated) {
  ServeConfig c;
  Status st = LoadConfigText(R"(
exhaustion:
  horizon: 12h
  default_rules: false
  max_series: 10
  rules:
    - usage: pool_busy
      capacity: pool_size
      on: [pool, instance]
    - usage: queue_depth
      limit: 5000
    - usage: disk_free
      capacity: disk_size
      usage_is_free: true
)",
                             "x.yml", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.exhaustion_horizon_ms, 12 * 3'600'000);
  EXPECT_FALSE(c.exhaustion_default_rules);
  EXPECT_EQ(c.exhaustion_max_series, 10u);
  ASSERT_EQ(c.exhaustion_rules.size(), 3u);
  EXPECT_EQ(c.exhaustion_rules[0].capacity_metric, "pool_size");
  EXPECT_EQ(c.exhaustion_rules[0].on, (std::vector<std::string>{"pool", "instance"}));
  EXPECT_EQ(c.exhaustion_rules[1].limit, 5000);
  EXPECT_TRUE(c.exhaustion_rules[2].usage_is_free);

  for (const char* bad :
       {"exhaustion:\n  rules:\n    - usage: a\n",
        "exhaustion:\n  rules:\n    - usage: a\n      capacity: b\n      limit: 3\n",
        "exhaustion:\n  rules:\n    - usage: a\n      limit: many\n",
        "exhaustion:\n  rules:\n    - usage: a\n      limit: 3\n      by: [x]\n",
        "exhaustion:\n  horizon: soon\n"}) {
    ServeConfig d;
    Status s = LoadConfigText(bad, "bad.yml", &d);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("exhaustion"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace backsight::server
