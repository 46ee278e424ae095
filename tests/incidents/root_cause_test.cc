// Root-cause ranking on small synthetic case directories: one per evidence source (a callee's
// CPU spike, a surge of a new error template, a slow downstream span), each checked to rank the
// faulty service first and to stop doing so with that source switched off; a normal case with no
// cause; bad input named by file and line.
#include "backsight/incidents/root_cause.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backsight/incidents/case_data.h"

namespace backsight::incidents {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kAlert = 1700000000;  // epoch s
const char* const kServices[] = {"frontend", "api", "db", "cache"};

// A fresh directory under the test temp dir with case.json written.
class CaseDir {
 public:
  explicit CaseDir(const std::string& name) {
    dir_ = fs::temp_directory_path() / ("backsight_rca_" + std::to_string(getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "baseline");
    Write("case.json", "{\"alert_time\": " + std::to_string(kAlert) + "}\n");
  }
  ~CaseDir() { fs::remove_all(dir_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file) << text;
  }
  std::string path() const { return dir_.string(); }

 private:
  fs::path dir_;
};

// A deterministic wobble in [-1, 1] (no RNG state shared between tests).
double Wobble(int i, int salt) { return ((i * 7919 + salt * 104729) % 201) / 100.0 - 1.0; }

// CPU of every service, one sample a minute for `history` minutes before the alert and four
// after it; `spiking` (if any) runs at 90 % from the alert on, the others at 10 +- 1 %.
std::string CpuMetrics(const std::string& spiking, int history = 60) {
  std::string out = "timestamp,service,instance,metric,value\n";
  for (int m = -history; m <= 3; ++m) {
    for (int s = 0; s < 4; ++s) {
      const std::string svc = kServices[s];
      double v = 10 + Wobble(m + 100, s);
      if (svc == spiking && m >= 0) v = 90;
      out += std::to_string(kAlert + 60 * m) + "," + svc + "," + svc + "-0,CpuUsageRate(%)," +
             std::to_string(v) + "\n";
    }
  }
  return out;
}

// Ordinary INFO lines of every service, `per_service` each, spread over [from, from + 120 s).
std::string InfoLogs(int64_t from_s, int per_service, bool header) {
  std::string out = header ? "timestamp_unix_nano,service,instance,trace_id,span_id,body\n" : "";
  for (int i = 0; i < per_service; ++i) {
    for (int s = 0; s < 4; ++s) {
      const std::string svc = kServices[s];
      const int64_t ns = (from_s + i * 120 / per_service) * 1000000000LL + s;
      out += std::to_string(ns) + "," + svc + "," + svc + "-0,t" + std::to_string(i) + ",s" +
             std::to_string(s) + ",INFO handled request id=" + std::to_string(1000 + i) + " in " +
             std::to_string(3 + i % 5) + " ms\n";
    }
  }
  return out;
}

// Traces frontend -> api -> db; db's span lasts `db_ms`, the callers add 3 ms of their own
// each. Trace ids start at `first`.
std::string Traces(int64_t from_s, int count, int first, double db_ms, bool header) {
  std::string out =
      header ? "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,"
               "end_unix_nano,status\n"
             : "";
  for (int i = 0; i < count; ++i) {
    const std::string t = "tr" + std::to_string(first + i);
    const int64_t start = (from_s + i) * 1000000000LL;
    const double jitter = 0.2 * Wobble(i, 3);
    const int64_t db = static_cast<int64_t>((db_ms + jitter) * 1e6), own = 3000000;
    const int64_t api = db + 2 * own, fe = api + 2 * own;
    out += t + ",a" + t + ",,frontend,frontend-0,GET /," + std::to_string(start) + "," +
           std::to_string(start + fe) + ",\n";
    out += t + ",b" + t + ",a" + t + ",api,api-0,GET /items," + std::to_string(start + own) + "," +
           std::to_string(start + own + api) + ",\n";
    out += t + ",c" + t + ",b" + t + ",db,db-0,SELECT items," + std::to_string(start + 2 * own) +
           "," + std::to_string(start + 2 * own + db) + ",\n";
  }
  return out;
}

RcaResult Rank(const CaseDir& dir, const RcaOptions& options = {}) {
  CaseData c;
  const Status st = LoadCase(dir.path(), &c);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return RankRootCauses(c, options);
}

// With the evidence source `use` (e.g. &RcaOptions::use_metrics) switched off, `service` is no
// longer ranked first: the source is what found it.
void ExpectNotFirstWithout(const CaseDir& dir, bool RcaOptions::*use, const std::string& service) {
  RcaOptions off;
  off.*use = false;
  const RcaResult r = Rank(dir, off);
  EXPECT_TRUE(r.causes.empty() || r.causes[0].service != service) << r.causes[0].explanation;
}

TEST(RootCauseTest, MetricSpikeInCalleeRanksFirst) {
  CaseDir dir("metric");
  dir.Write("metrics.csv", CpuMetrics("db"));
  dir.Write("graph.csv", "caller,callee\nfrontend,api\napi,db\n");
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "db");
  EXPECT_EQ(r.causes[0].indicator, "CpuUsageRate(%)");
  EXPECT_NE(r.causes[0].explanation.find("rose to 90"), std::string::npos)
      << r.causes[0].explanation;
  ExpectNotFirstWithout(dir, &RcaOptions::use_metrics, "db");
}

// db's CPU shift makes the metric source significant; api's system calls burst further (a
// traffic metric: alone it names no cause). The vote the CPU shift earned is not api's alone.
TEST(RootCauseTest, TrafficMetricDoesNotOutrankTheCauseMetric) {
  CaseDir dir("traffic_cap");
  std::string metrics = CpuMetrics("db");
  for (int m = -60; m <= 3; ++m) {
    const double v = m >= 0 ? 5000 : 100 + 10 * Wobble(m + 100, 9);
    metrics +=
        std::to_string(kAlert + 60 * m) + ",api,api-0,SyscallWrite," + std::to_string(v) + "\n";
  }
  dir.Write("metrics.csv", metrics);
  const RcaResult r = Rank(dir);
  double db = -1, api = -1;
  for (const auto& c : r.causes) {
    if (c.service == "db") db = c.score;
    if (c.service == "api") api = c.score;
  }
  EXPECT_GT(db, 0);
  EXPECT_GE(db, api);
}

// The first fault of a session: samples at -3, -2 and -1 min; the one at -1 min is already in
// the window (it starts 60 s before the alert), so two or three samples are the baseline.
TEST(RootCauseTest, MetricNeedsThreeBaselineSamples) {
  CaseDir dir("short_history");
  dir.Write("metrics.csv", CpuMetrics("db", 3));
  RcaResult r = Rank(dir);
  EXPECT_TRUE(r.causes.empty()) << r.causes[0].explanation;  // two samples: not judged
  dir.Write("metrics.csv", CpuMetrics("db", 4));
  r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "db");
}

TEST(RootCauseTest, ErrorTemplateSurgeRanksFirst) {
  CaseDir dir("logs");
  dir.Write("metrics.csv", CpuMetrics(""));
  dir.Write("baseline/logs.csv", InfoLogs(kAlert - 600, 40, true));
  std::string window = InfoLogs(kAlert, 40, true);
  for (int i = 0; i < 30; ++i) {
    window += std::to_string((kAlert + 2 * i) * 1000000000LL) + ",db,db-0,x,y,ERROR write to " +
              "disk failed after " + std::to_string(i) + " retries\n";
  }
  dir.Write("logs.csv", window);
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "db");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kLog);
  EXPECT_NE(r.causes[0].explanation.find("appeared at"), std::string::npos)
      << r.causes[0].explanation;
  ExpectNotFirstWithout(dir, &RcaOptions::use_logs, "db");
}

// Two significant sources that disagree: db's CPU is ~80 robust sigmas over its usual (10 times
// the metric bar), api's new error template barely passes the log bar. The far stronger source
// wins (with one vote each, the service named by both a little would).
TEST(RootCauseTest, SourceFarOverItsBarOutvotesOneJustOver) {
  CaseDir dir("vote_weight");
  dir.Write("metrics.csv", CpuMetrics("db"));
  dir.Write("baseline/logs.csv", InfoLogs(kAlert - 600, 40, true));
  std::string window = InfoLogs(kAlert, 40, true);
  for (int i = 0; i < 8; ++i) {
    window += std::to_string((kAlert + 2 * i) * 1000000000LL) + ",api,api-0,x,y,ERROR cache " +
              "refresh failed after " + std::to_string(i) + " retries\n";
  }
  dir.Write("logs.csv", window);
  const RcaResult r = Rank(dir);
  ASSERT_GE(r.sources.size(), 3u);
  for (const auto& s : r.sources) {
    if (s.kind == EvidenceKind::kLog) {
      EXPECT_TRUE(s.significant);
      EXPECT_LT(s.margin, 1.5);
      EXPECT_EQ(s.strengths.front().first, "api");
    }
  }
  ASSERT_GE(r.causes.size(), 2u);
  EXPECT_EQ(r.causes[0].service, "db");
  EXPECT_EQ(r.causes[1].service, "api");
}

TEST(RootCauseTest, LatencyInDownstreamSpanRanksFirst) {
  CaseDir dir("traces");
  dir.Write("metrics.csv", CpuMetrics(""));
  dir.Write("baseline/spans.csv", Traces(kAlert - 600, 100, 0, 2, true));
  dir.Write("spans.csv", Traces(kAlert, 100, 1000, 200, true));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "db");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kTrace);
  ExpectNotFirstWithout(dir, &RcaOptions::use_traces, "db");
}

// Caller-side latency of the edges frontend -> api and api -> db, one sample a minute for an
// hour before the alert and four after it: 5 +- 0.5 ms, the edges into `slow` 200 ms from the
// alert on.
std::string CallLatency(const std::string& slow) {
  std::string out = "timestamp,caller,callee,metric,value\n";
  const std::pair<const char*, const char*> edges[] = {{"frontend", "api"}, {"api", "db"}};
  for (int m = -60; m <= 3; ++m) {
    for (const auto& [caller, callee] : edges) {
      double v = 0.005 + 0.0005 * Wobble(m + 100, callee[0]);
      if (callee == slow && m >= 0) v = 0.2;
      out += std::to_string(kAlert + 60 * m) + "," + caller + "," + callee + ",p50_seconds," +
             std::to_string(v) + "\n";
    }
  }
  return out;
}

TEST(RootCauseTest, SlowCallsIntoCalleeRankItFirst) {
  CaseDir dir("calls");
  dir.Write("metrics.csv", CpuMetrics(""));
  dir.Write("calls.csv", CallLatency("db"));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "db");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kCall);
  EXPECT_NE(r.causes[0].explanation.find("of calls from api rose to 0.2"), std::string::npos)
      << r.causes[0].explanation;
  ExpectNotFirstWithout(dir, &RcaOptions::use_calls, "db");
  // Unchanged edges name no cause.
  dir.Write("calls.csv", CallLatency(""));
  EXPECT_TRUE(Rank(dir).causes.empty());
}

// How StopTraces' requests end: all calls made, api failing part way (it makes no db call and
// frontend skips its cache call), or frontend stopping after api returned a whole call tree.
enum class Stop { kNone, kApiFails, kFrontendFails };

// Traces whose frontend span calls api (client span in frontend, server span in api, which calls
// db 1-3 times) and then cache (likewise).
// With `shared_ids`, every trace uses the same span ids ("a", "b", ...): span ids need only be
// unique within their trace.
std::string StopTraces(int64_t from_s, int count, int first, Stop stop, bool shared_ids = false) {
  std::string out =
      "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,"
      "end_unix_nano,status\n";
  for (int i = 0; i < count; ++i) {
    const std::string t = "st" + std::to_string(first + i);
    const int64_t s0 = (from_s + i) * 1000000000LL, ms = 1000000;
    auto span = [&](const std::string& id, const std::string& parent, const std::string& svc,
                    const std::string& op, int64_t a, int64_t b) {
      const std::string suffix = shared_ids ? "" : t;
      out += t + "," + id + suffix + "," + (parent.empty() ? "" : parent + suffix) + "," + svc +
             "," + svc + "-0," + op + "," + std::to_string(s0 + a * ms) + "," +
             std::to_string(s0 + b * ms) + ",\n";
    };
    span("a", "", "frontend", "GET /", 0, 20);
    span("b", "a", "frontend", "api.Get", 1, 8);
    span("c", "b", "api", "api.Get", 2, 7);
    if (stop != Stop::kApiFails) {
      const char* const kDbSpans[] = {"f0", "f1", "f2"};
      for (int k = 0; k <= i % 3; ++k) span(kDbSpans[k], "c", "db", "db.Query", 3, 4);
    }
    if (stop == Stop::kNone) {
      span("d", "a", "frontend", "cache.Get", 9, 15);
      span("e", "d", "cache", "cache.Get", 10, 14);
    }
  }
  return out;
}

TEST(RootCauseTest, SkippedCallsNameTheCalleeTheyStopAfter) {
  CaseDir dir("structure");
  dir.Write("baseline/spans.csv", StopTraces(kAlert - 600, 100, 0, Stop::kNone));
  dir.Write("spans.csv", StopTraces(kAlert, 100, 1000, Stop::kApiFails));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "api");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kStructure);
  EXPECT_NE(r.causes[0].explanation.find("now ends after its call api.Get"), std::string::npos)
      << r.causes[0].explanation;
}

// The same with span ids repeated in every trace (unique only within a trace, as the span
// model requires): the calls of different traces are not mixed up.
TEST(RootCauseTest, SpanIdsAreReadWithinTheirTrace) {
  CaseDir dir("structure_shared_ids");
  dir.Write("baseline/spans.csv", StopTraces(kAlert - 600, 100, 0, Stop::kNone, true));
  dir.Write("spans.csv", StopTraces(kAlert, 100, 1000, Stop::kFrontendFails, true));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "frontend");
  EXPECT_NE(r.causes[0].explanation.find("now ends after its call api.Get in 100 of 100 calls"),
            std::string::npos)
      << r.causes[0].explanation;
}

// frontend stops after api, whose call tree is as large as usual: api did its whole job, so the
// code that stopped is frontend's own (an exception thrown after the call returned).
TEST(RootCauseTest, StopAfterACompleteCalleeNamesTheCaller) {
  CaseDir dir("structure_caller");
  dir.Write("baseline/spans.csv", StopTraces(kAlert - 600, 100, 0, Stop::kNone));
  dir.Write("spans.csv", StopTraces(kAlert, 100, 1000, Stop::kFrontendFails));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "frontend");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kStructure);
  EXPECT_NE(r.causes[0].explanation.find("so frontend stopped after it returned"),
            std::string::npos)
      << r.causes[0].explanation;
  // api returned its whole call tree: neither part of the call-structure source credits it.
  for (const auto& cause : r.causes) {
    EXPECT_FALSE(cause.service == "api" && cause.kind == EvidenceKind::kStructure)
        << cause.explanation;
  }
}

// Logs of the traces of Traces(): api's span writes "Svc#10 load items" and "Svc#14 loaded
// items" (one template, two code locations); with `api_stops`, the second line is missing from
// every span (the code throws between the two).
std::string SpanLogs(int64_t from_s, int count, int first, bool api_stops) {
  std::string out = "timestamp_unix_nano,service,instance,trace_id,span_id,body\n";
  for (int i = 0; i < count; ++i) {
    const std::string t = "tr" + std::to_string(first + i);
    const int64_t ns = (from_s + i) * 1000000000LL + 4000000;
    out += std::to_string(ns) + ",api,api-0," + t + ",b" + t +
           ",INFO a.ItemService#10 [get][load " + std::to_string(i) + " items]\n";
    if (!api_stops) {
      out += std::to_string(ns + 1000) + ",api,api-0," + t + ",b" + t +
             ",INFO a.ItemService#14 [get][load " + std::to_string(i % 7) + " items]\n";
    }
  }
  return out;
}

TEST(RootCauseTest, MissingSpanLogNamesItsService) {
  CaseDir dir("missing_log");
  dir.Write("baseline/spans.csv", Traces(kAlert - 600, 40, 0, 2, true));
  dir.Write("baseline/logs.csv", SpanLogs(kAlert - 600, 40, 0, false));
  dir.Write("spans.csv", Traces(kAlert, 40, 1000, 2, true));
  dir.Write("logs.csv", SpanLogs(kAlert, 40, 1000, true));
  // The stop points (below) read the same lines; off here, so this source alone is judged.
  RcaOptions on;
  on.use_stop_points = false;
  RcaResult r = Rank(dir, on);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "api");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kMissingLog);
  EXPECT_EQ(r.causes[0].indicator, "a.ItemService#14");
  RcaOptions off = on;
  off.use_missing_logs = false;
  r = Rank(dir, off);
  EXPECT_TRUE(r.causes.empty() || r.causes[0].service != "api");
}

// Logs of the traces of Traces() where api's operation has two code paths: even requests write
// "Svc#10 load items" then "Svc#14 loaded items", odd ones "Svc#20 cached items". With
// `api_stops`, the even ones stop after #10 (the code throws between the two lines). No line
// is in >= 90 % of the operation's spans, so only the stop point can see it.
std::string TwoPathLogs(int64_t from_s, int count, int first, bool api_stops) {
  std::string out = "timestamp_unix_nano,service,instance,trace_id,span_id,body\n";
  for (int i = 0; i < count; ++i) {
    const std::string t = "tr" + std::to_string(first + i);
    const int64_t ns = (from_s + i) * 1000000000LL + 4000000;
    const std::string head = std::to_string(ns) + ",api,api-0," + t + ",b" + t + ",INFO ";
    if (i % 2 == 1) {
      out += head + "a.ItemService#20 [get][cached " + std::to_string(i) + " items]\n";
      continue;
    }
    out += head + "a.ItemService#10 [get][load " + std::to_string(i) + " items]\n";
    if (!api_stops) {
      out += std::to_string(ns + 1000) + ",api,api-0," + t + ",b" + t +
             ",INFO a.ItemService#14 [get][load " + std::to_string(i % 7) + " items]\n";
    }
  }
  return out;
}

TEST(RootCauseTest, LogStopPointNamesItsService) {
  CaseDir dir("stop_point");
  dir.Write("baseline/spans.csv", Traces(kAlert - 600, 40, 0, 2, true));
  dir.Write("baseline/logs.csv", TwoPathLogs(kAlert - 600, 40, 0, false));
  dir.Write("spans.csv", Traces(kAlert, 40, 1000, 2, true));
  dir.Write("logs.csv", TwoPathLogs(kAlert, 40, 1000, true));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "api");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kStopPoint);
  EXPECT_EQ(r.causes[0].indicator, "a.ItemService#10");
  EXPECT_NE(r.causes[0].explanation.find("20 of 20 GET /items spans"), std::string::npos)
      << r.causes[0].explanation;
  ExpectNotFirstWithout(dir, &RcaOptions::use_stop_points, "api");

  // The same mix of paths in both periods (more requests, same stops) names nothing.
  dir.Write("logs.csv", TwoPathLogs(kAlert, 40, 1000, false));
  r = Rank(dir);
  EXPECT_TRUE(r.causes.empty()) << r.causes[0].explanation;
}

// System calls of every service, one sample a minute for an hour before the alert and four
// after it, 100 +- 1 each; the `quiet` services make none from the alert on.
std::string SyscallMetrics(const std::vector<std::string>& quiet) {
  std::string out = "timestamp,service,instance,metric,value\n";
  for (int m = -60; m <= 3; ++m) {
    for (int s = 0; s < 4; ++s) {
      const std::string svc = kServices[s];
      double v = 100 + Wobble(m + 100, s);
      if (m >= 0 && std::find(quiet.begin(), quiet.end(), svc) != quiet.end()) v = 0;
      out += std::to_string(kAlert + 60 * m) + "," + svc + "," + svc + "-0,SyscallWrite," +
             std::to_string(v) + "\n";
    }
  }
  return out;
}

// api stops calling db and cache (an early return) while still serving frontend: db and cache
// go quiet, and their one common caller is named. When everything goes quiet (the load
// paused), or the quiet services share no caller, nobody is.
TEST(RootCauseTest, QuietCalleesNameTheirCommonCaller) {
  CaseDir dir("quiet");
  fs::remove_all(fs::path(dir.path()) / "baseline");
  dir.Write("graph.csv", "caller,callee\nfrontend,api\napi,db\napi,cache\nfrontend,cache\n");
  dir.Write("metrics.csv", SyscallMetrics({"db", "cache"}));
  RcaResult r = Rank(dir);
  ASSERT_FALSE(r.causes.empty());
  EXPECT_EQ(r.causes[0].service, "api");
  EXPECT_EQ(r.causes[0].kind, EvidenceKind::kQuietCallee);
  EXPECT_NE(r.causes[0].explanation.find("stopped calling cache, db"), std::string::npos)
      << r.causes[0].explanation;
  ExpectNotFirstWithout(dir, &RcaOptions::use_quiet_callees, "api");
  dir.Write("metrics.csv", SyscallMetrics({"frontend", "api", "db", "cache"}));
  r = Rank(dir);
  EXPECT_TRUE(r.causes.empty()) << r.causes[0].explanation;
  dir.Write("graph.csv", "caller,callee\nfrontend,api\napi,db\nfrontend,cache\n");
  dir.Write("metrics.csv", SyscallMetrics({"db", "cache"}));
  r = Rank(dir);
  EXPECT_TRUE(r.causes.empty()) << r.causes[0].explanation;
}

TEST(RootCauseTest, NormalCaseNamesNoCause) {
  CaseDir dir("normal");
  dir.Write("metrics.csv", CpuMetrics(""));
  dir.Write("baseline/logs.csv", InfoLogs(kAlert - 600, 40, true));
  dir.Write("logs.csv", InfoLogs(kAlert, 40, true));
  dir.Write("baseline/spans.csv", Traces(kAlert - 600, 100, 0, 2, true));
  dir.Write("spans.csv", Traces(kAlert, 100, 1000, 2, true));
  const RcaResult r = Rank(dir);
  EXPECT_TRUE(r.causes.empty()) << r.causes[0].explanation;
}

TEST(RootCauseTest, BadInputIsNamedByFileAndLine) {
  CaseDir dir("bad");
  dir.Write("metrics.csv",
            "timestamp,service,instance,metric,value\n1700000000,db,db-0,cpu,1\n"
            "1700000060,db,db-0,cpu,high\n");
  CaseData c;
  Status st = LoadCase(dir.path(), &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("metrics.csv:3: bad value 'high'"), std::string::npos)
      << st.message();

  dir.Write("metrics.csv", "timestamp,service,metric\n");
  st = LoadCase(dir.path(), &c);
  EXPECT_NE(st.message().find("metrics.csv:1: header lacks column 'value'"), std::string::npos)
      << st.message();

  dir.Write("metrics.csv", "");
  dir.Write("spans.csv", Traces(kAlert, 1, 0, 2, true) + "x,y,,db,db-0,op,5,notanumber,\n");
  st = LoadCase(dir.path(), &c);
  EXPECT_NE(st.message().find("spans.csv:5:"), std::string::npos) << st.message();

  dir.Write("spans.csv", "");
  dir.Write("logs.csv", "timestamp_unix_nano,service,body\n-5,db,hello\n");
  st = LoadCase(dir.path(), &c);
  EXPECT_NE(st.message().find("logs.csv:2: bad timestamp_unix_nano"), std::string::npos)
      << st.message();

  dir.Write("logs.csv", "");
  dir.Write("calls.csv", "timestamp,caller,callee,metric,value\n1700000000,api,,p50,1\n");
  st = LoadCase(dir.path(), &c);
  EXPECT_NE(st.message().find("calls.csv:2: empty service"), std::string::npos) << st.message();

  dir.Write("calls.csv", "");
  dir.Write("case.json", "{\"symptom\": {}}");
  st = LoadCase(dir.path(), &c);
  EXPECT_NE(st.message().find("case.json: alert_time"), std::string::npos) << st.message();

  st = LoadCase(dir.path() + "/missing", &c);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace backsight::incidents
