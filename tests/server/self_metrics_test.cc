// The server's own metrics: the GET /metrics health exposition reads back with the project's
// exposition parser and carries every metric documented in docs/self-metrics.md, with its type and
// help; the registry escapes label values and mirrors its owners' totals.
#include "backsight/server/self_metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backsight/ingest/exposition.h"
#include "backsight/server/server.h"
#include "proc_util.h"

namespace backsight::server {
namespace {

struct DocumentedMetric {
  std::string name, type, help;
};

// The rows `| `name` | type | labels | help |` of docs/self-metrics.md.
std::vector<DocumentedMetric> ReadDocumentedMetrics() {
  std::ifstream in(std::string(BACKSIGHT_SOURCE_DIR) + "/docs/self-metrics.md");
  static const std::regex row(R"(^\| `(backsight_\w+)` \| (\w+) \| [^|]* \| (.*) \|$)");
  std::vector<DocumentedMetric> out;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, row)) out.push_back({m[1], m[2], m[3]});
  }
  return out;
}

MetricKind KindOf(const std::string& type) {
  if (type == "counter") return MetricKind::kCounter;
  if (type == "gauge") return MetricKind::kGauge;
  if (type == "histogram") return MetricKind::kHistogram;
  return MetricKind::kUnknown;
}

// The parsed series named `name` with the other labels `labels`, or nullptr.
const TimeSeries* Find(const std::vector<TimeSeries>& series, const std::string& name,
                       Labels labels = {}) {
  labels.push_back({"__name__", name});
  SortLabels(&labels);
  for (const TimeSeries& s : series) {
    if (s.labels == labels) return &s;
  }
  return nullptr;
}

double ValueOf(const std::vector<TimeSeries>& series, const std::string& name,
               const Labels& labels = {}) {
  const TimeSeries* s = Find(series, name, labels);
  return s == nullptr || s->samples.empty() ? -1 : s->samples.back().value;
}

TEST(SelfMetricsTest, ExpositionParsesAndCarriesEveryDocumentedMetric) {
  const std::vector<DocumentedMetric> documented = ReadDocumentedMetrics();
  ASSERT_GE(documented.size(), 50u) << "docs/self-metrics.md table not found or cut";

  testing::TempDir dir;
  ServeConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.state_dir = dir.path();
  cfg.workers = 1;
  // A target nobody listens on, so that the scrape families have a sample.
  const std::string dead = "127.0.0.1:" + std::to_string(testing::FreePort());
  cfg.scrape_jobs.push_back({"dead", {dead}, "/metrics", 100, 100, false});
  // A history source, so that the backsight_history_* families are registered, and a capacity
  // rule, so that the backsight_capacity_warm_* ones are.
  cfg.history_url = "http://" + dead;
  CapacityRule rule;
  rule.demand = "http_requests_rate";
  rule.demand_matchers = {{"__name__", "http_requests_rate"}};
  rule.options.per_replica = 100;
  cfg.capacity.push_back(rule);
  // A tailed file (missing), so that the backsight_log_file_* families are registered.
  cfg.log_files.push_back({dir.file("missing.log"), "raw", "indent", "missing.log"});
  // Incidents on, so that the backsight_incident* families are registered.
  cfg.incidents_enabled = true;
  // logs.security on, so that the backsight_security_* families are registered.
  cfg.logs_security = true;
  Server server(cfg);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Post("/api/v1/write", {{"Content-Encoding", "snappy"}}, "not snappy",
                         "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  const Labels target = {{"job", "dead"}, {"instance", dead}};
  std::string text;
  std::vector<TimeSeries> series;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        text = server.RenderMetrics(/*with_outputs=*/false);
        return ingest::ParseExposition(text, 0, &series).ok() &&
               ValueOf(series, "backsight_scrape_errors_total", target) >= 1;
      },
      10'000))
      << text;

  std::set<std::string> names;
  for (const DocumentedMetric& d : documented) {
    SCOPED_TRACE(d.name);
    names.insert(d.name);
    EXPECT_NE(text.find("# HELP " + d.name + " " + d.help + "\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE " + d.name + " " + d.type + "\n"), std::string::npos);
    bool found = false;
    for (const TimeSeries& s : series) {
      const std::string_view name = GetLabel(s.labels, "__name__");
      const bool same = d.type == "histogram" ? name == d.name + "_count" : name == d.name;
      if (same) {
        found = true;
        EXPECT_EQ(s.kind, KindOf(d.type));
      }
    }
    EXPECT_TRUE(found) << "no sample of " << d.name;
  }
  // And nothing undocumented.
  for (const TimeSeries& s : series) {
    std::string name(GetLabel(s.labels, "__name__"));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string base = name.substr(0, name.rfind(suffix));
      if (name.ends_with(suffix) && names.count(base)) name = base;
    }
    EXPECT_TRUE(names.count(name)) << name << " is exposed but not in docs/self-metrics.md";
  }
  EXPECT_EQ(ValueOf(series, "backsight_decode_errors_total",
                    {{"endpoint", "remote_write"}, {"reason", "snappy"}}),
            1);
  EXPECT_EQ(
      ValueOf(series, "backsight_requests_total", {{"endpoint", "remote_write"}, {"code", "400"}}),
      1);
  EXPECT_EQ(ValueOf(series, "backsight_series_max"), 1e6);
  EXPECT_EQ(ValueOf(series, "backsight_processing_latency_seconds_bucket", {{"le", "+Inf"}}), 0);
  server.Stop();
}

TEST(SelfMetricsTest, LabelValuesAreEscapedAndMirroredTotalsOnlyRise) {
  SelfMetrics m;
  const std::string hostile = "/a\"b\\c\nd";
  m.CountRequest(hostile, 401);
  m.CountRequest(hostile, 401);
  m.CountScrape("job", "h:1", /*ok=*/true);
  m.CountOutputPush(/*ok=*/false);
  m.SetCounter("backsight_t_total", "t", 5);
  m.SetCounter("backsight_t_total", "t", 3);  // an owner's total never falls; keep 5
  m.SetGauge("backsight_g", "g", 7);
  m.SetGauge("backsight_g", "g", -2);
  m.SetHistogram("backsight_h_seconds", "h", {0.5, 2}, {1, 2, 3}, 10);
  m.SetHistogram("backsight_h_seconds", "h", {0.5, 2}, {2, 2, 4}, 12.5);

  std::vector<TimeSeries> series;
  const std::string text = m.Serialize();
  ASSERT_TRUE(ingest::ParseExposition(text, 0, &series).ok()) << text;
  EXPECT_EQ(ValueOf(series, "backsight_requests_total", {{"endpoint", hostile}, {"code", "401"}}),
            2)
      << text;
  EXPECT_EQ(ValueOf(series, "backsight_scrapes_total", {{"job", "job"}, {"instance", "h:1"}}), 1);
  EXPECT_EQ(ValueOf(series, "backsight_scrape_errors_total", {{"job", "job"}, {"instance", "h:1"}}),
            0);
  EXPECT_EQ(ValueOf(series, "backsight_output_pushes_total"), 1);
  EXPECT_EQ(ValueOf(series, "backsight_output_push_errors_total"), 1);
  EXPECT_EQ(ValueOf(series, "backsight_t_total"), 5);
  EXPECT_EQ(ValueOf(series, "backsight_g"), -2);
  // Cumulative buckets from per-bucket counts: (2, 2, 4) -> 2, 4, 8.
  EXPECT_EQ(ValueOf(series, "backsight_h_seconds_bucket", {{"le", "0.5"}}), 2);
  EXPECT_EQ(ValueOf(series, "backsight_h_seconds_bucket", {{"le", "2"}}), 4);
  EXPECT_EQ(ValueOf(series, "backsight_h_seconds_bucket", {{"le", "+Inf"}}), 8);
  EXPECT_EQ(ValueOf(series, "backsight_h_seconds_count"), 8);
  EXPECT_EQ(ValueOf(series, "backsight_h_seconds_sum"), 12.5);
}

}  // namespace
}  // namespace backsight::server
