// Converts the Nezha RCA folders (shared/data/nezha_ob, nezha_tt, and any other folder of
// DATA_DIR in the same layout: nezha_systems.h) into the vendor-neutral case layout of
// `backsight rca` (issue 10): per case a directory with case.json, metrics.csv, spans.csv,
// logs.csv, graph.csv (when the source has a dependency file) and baseline/.
//
//   nezha_to_cases OUT_DIR [DATA_DIR] [--systems a,b]
//   (DATA_DIR default $BACKSIGHT_DATA or ../shared/data; --systems: only these folders)
//
// Reads only cases_input.tsv (no ground-truth column). Mapping, as the issue defines it:
//  - service = the pod name without its last two '-' fields, instance = the pod;
//  - metrics.csv: one row per (pod file row, column), metric = the source column header;
//  - logs.csv body = the `log` field of the Docker JSON line (its trailing newline dropped);
//  - spans.csv from the fault-window trace files, baseline/spans.csv and baseline/logs.csv from
//    the day's fault-free minute;
//  - graph.csv = the service edges of dependency.csv (node-IP placement edges left out);
//  - calls.csv = source_50.csv (median latency of each call edge `caller_callee` as the caller
//    sees it, seconds), metric = the file's stem, rows of the same time range as metrics.csv.
// Fault cases get alert_time = fault_start_epoch_s and metrics from kMetricsBeforeS before to
// kMetricsAfterS after it. Normal (no-fault) cases, for specificity, are written to
// OUT_DIR/<system> /normal_cases.tsv and as case dirs: (a) metric windows from
// kQuietAfterLastFaultS after the day's last fault, every kNormalSpacingS, kNormalPerDay of them
// (metrics only), (b) the fault-free minute itself split in time: alert_time kSplitS after its
// first span, no baseline/ (so the first part is the baseline), metrics as for (a).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "backsight/core/csv.h"
#include "backsight/core/line_reader.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/ingest/span_csv.h"
#include "backsight/traces/span_file.h"
#include "nezha_systems.h"

namespace fs = std::filesystem;
using backsight::AppendCsvField;
using backsight::SplitDelimited;
using backsight::Status;

namespace {

// Metric rows kept around the alert: an hour of history (the robust baseline) and the fault's
// 3 minutes plus one (Nezha faults last 180 s, paper 5.1; rows are one per minute).
constexpr int64_t kMetricsBeforeS = 3600;
constexpr int64_t kMetricsAfterS = 240;
// Normal windows: start 30 min after the day's last fault ends (its after-effects gone), one
// every 30 min (faults in the sessions are ~8 min apart, so these are clear of any), 8 per day.
constexpr int64_t kQuietAfterLastFaultS = 1800 + 180;
constexpr int64_t kNormalSpacingS = 1800;
constexpr int kNormalPerDay = 8;
// The fault-free minute file spans ~80 s; the first 40 s are its own baseline.
constexpr int64_t kSplitS = 40;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "nezha_to_cases: %s\n", what.c_str());
  std::exit(4);
}

void Check(const Status& st) {
  if (!st.ok()) Die(st.ToString());
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int Col(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    Die("no column " + name);
  }
};

Table ReadTsv(const std::string& path) {
  backsight::LineReader r;
  Check(r.Open(path));
  Table t;
  std::string line;
  bool first = true;
  while (r.Next(&line)) {
    if (line.empty()) continue;
    if (first) {
      t.header = SplitDelimited(line, '\t');
      first = false;
    } else {
      t.rows.push_back(SplitDelimited(line, '\t'));
    }
  }
  Check(r.status());
  return t;
}

// Reads a (gzip) CSV file whole into rows.
Table ReadCsvFile(const std::string& path) {
  backsight::LineReader r;
  Check(r.Open(path));
  std::string text, line;
  while (r.Next(&line)) {
    text += line;
    text += '\n';
  }
  Check(r.status());
  std::vector<std::vector<std::string>> rows;
  Status st = backsight::ReadCsvRows(text, &rows);
  if (!st.ok()) Die(path + ": " + st.ToString());
  Table t;
  if (rows.empty()) return t;
  t.header = rows[0];
  t.rows.assign(rows.begin() + 1, rows.end());
  return t;
}

void WriteFile(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  if (!out) Die("cannot write " + path.string());
}

// One pod's metric file, kept whole in memory (rows sorted by time as written).
struct PodMetrics {
  std::string pod;
  Table table;
};

std::string MetricsCsv(const std::vector<PodMetrics>& pods, int64_t from_s, int64_t to_s) {
  std::string out = "timestamp,service,instance,metric,value\n";
  for (const auto& p : pods) {
    const int c_ts = p.table.Col("TimeStamp");
    const std::string service(backsight::ingest::ServiceOfPod(p.pod));
    for (const auto& row : p.table.rows) {
      if (row.size() != p.table.header.size()) continue;
      const int64_t ts = std::strtoll(row[c_ts].c_str(), nullptr, 10);
      if (ts < from_s || ts > to_s) continue;
      for (size_t c = 0; c < row.size(); ++c) {
        const std::string& h = p.table.header[c];
        if (h == "Time" || h == "TimeStamp" || h == "PodName") continue;
        out += row[c_ts];
        out += ',';
        AppendCsvField(service, &out);
        out += ',';
        AppendCsvField(p.pod, &out);
        out += ',';
        AppendCsvField(h, &out);
        out += ',';
        out += row[c];
        out += '\n';
      }
    }
  }
  return out;
}

std::string SpansCsv(const std::string& dir, const std::string& files, int64_t* first_start_ns) {
  backsight::ingest::SpanBatch batch;
  for (const auto& f : SplitDelimited(files, ';')) {
    if (!f.empty()) Check(backsight::traces::ReadSpanFile(dir + f, &batch));
  }
  std::string out =
      "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,end_unix_nano,"
      "status\n";
  int64_t first = INT64_MAX;
  for (const auto& s : batch.spans) {
    first = std::min<int64_t>(first, s.start_ns);
    for (const std::string* f :
         {&s.trace_id, &s.span_id, &s.parent_span_id, &s.service, &s.instance, &s.name}) {
      AppendCsvField(*f, &out);
      out += ',';
    }
    out += std::to_string(s.start_ns) + ',' + std::to_string(s.end_ns) + ',';
    if (s.status == backsight::ingest::SpanStatus::kError) out += "error";
    if (s.status == backsight::ingest::SpanStatus::kOk) out += "ok";
    out += '\n';
  }
  if (first_start_ns) *first_start_ns = batch.spans.empty() ? 0 : first;
  return out;
}

std::string LogsCsv(const std::string& dir, const std::string& files) {
  std::string out = "timestamp_unix_nano,service,instance,trace_id,span_id,body\n";
  for (const auto& f : SplitDelimited(files, ';')) {
    if (f.empty()) continue;
    const Table t = ReadCsvFile(dir + f);
    const int c_ns = t.Col("TimeUnixNano"), c_ts = t.Col("Timestamp"), c_pod = t.Col("PodName"),
              c_tr = t.Col("TraceID");
    const int c_sp = t.Col("SpanID"), c_log = t.Col("Log");
    for (const auto& row : t.rows) {
      if (row.size() != t.header.size()) continue;
      std::string body;
      auto j = nlohmann::json::parse(row[c_log], nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("log") && j["log"].is_string()) {
        body = j["log"].get<std::string>();
      } else {
        body = row[c_log];  // not Docker JSON: the line as it is
      }
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      // A few TimeUnixNano values overflowed in the source (negative); its RFC 3339 Timestamp
      // column (UTC) says the same time to the microsecond.
      std::string ns = row[c_ns];
      if (ns.empty() || ns[0] == '-') {
        backsight::TimestampNs ts = 0;
        if (!backsight::TryParseTimestamp(row[c_ts], &ts)) continue;
        ns = std::to_string(ts);
      }
      out += ns + ',';
      AppendCsvField(backsight::ingest::ServiceOfPod(row[c_pod]), &out);
      out += ',';
      AppendCsvField(row[c_pod], &out);
      out += ',';
      AppendCsvField(row[c_tr], &out);
      out += ',';
      AppendCsvField(row[c_sp], &out);
      out += ',';
      AppendCsvField(body, &out);
      out += '\n';
    }
  }
  return out;
}

std::string GraphCsv(const std::string& metric_dir, const std::set<std::string>& services) {
  const std::string path = metric_dir + "/dependency.csv.gz";
  if (!fs::exists(path)) return "";
  const Table t = ReadCsvFile(path);
  const int c_s = t.Col("Source"), c_t = t.Col("Target");
  std::string out = "caller,callee\n";
  for (const auto& row : t.rows) {
    if (services.count(row[c_s]) && services.count(row[c_t]))
      out += row[c_s] + ',' + row[c_t] + '\n';
  }
  return out;
}

// calls.csv rows of the day's source_50.csv between from_s and to_s; empty when the source has
// no such file (Train Ticket). Its columns name an edge `caller_callee`; service names may hold
// '_' in other systems, so the caller is the known service the column starts with.
std::string CallsCsv(const std::string& metric_dir, const std::set<std::string>& services,
                     int64_t from_s, int64_t to_s) {
  const std::string stem = "source_50", path = metric_dir + "/" + stem + ".csv.gz";
  if (!fs::exists(path)) return "";
  const Table t = ReadCsvFile(path);
  const int c_ts = t.Col("timestamp");
  std::vector<std::pair<std::string, std::string>> edge(t.header.size());
  for (size_t c = 0; c < t.header.size(); ++c) {
    for (const auto& s : services) {
      const std::string& h = t.header[c];
      if (h.size() > s.size() + 1 && h.compare(0, s.size(), s) == 0 && h[s.size()] == '_' &&
          services.count(h.substr(s.size() + 1))) {
        edge[c] = {s, h.substr(s.size() + 1)};
      }
    }
  }
  std::string out = "timestamp,caller,callee,metric,value\n";
  for (const auto& row : t.rows) {
    if (row.size() != t.header.size()) continue;
    const int64_t ts = std::strtoll(row[c_ts].c_str(), nullptr, 10);
    if (ts < from_s || ts > to_s) continue;
    for (size_t c = 0; c < row.size(); ++c) {
      if (edge[c].first.empty() || row[c].empty()) continue;
      out +=
          row[c_ts] + ',' + edge[c].first + ',' + edge[c].second + ',' + stem + ',' + row[c] + '\n';
    }
  }
  return out;
}

std::string CaseJson(int64_t alert_s) {
  return "{\"alert_time\": " + std::to_string(alert_s) + "}\n";
}

}  // namespace

// Creates case directory `cdir` with what every case has from the metric folder `metric_dir`
// (absolute) of `pods` and their `services`: case.json, metrics.csv from kMetricsBeforeS before
// `alert` (epoch s) to kMetricsAfterS after it, graph.csv (`graph`) and calls.csv when not empty.
void WriteMetricCase(const fs::path& cdir, int64_t alert, const std::vector<PodMetrics>& pods,
                     const std::string& metric_dir, const std::set<std::string>& services,
                     const std::string& graph) {
  fs::create_directories(cdir);
  WriteFile(cdir / "case.json", CaseJson(alert));
  WriteFile(cdir / "metrics.csv",
            MetricsCsv(pods, alert - kMetricsBeforeS, alert + kMetricsAfterS));
  if (!graph.empty()) WriteFile(cdir / "graph.csv", graph);
  const std::string calls =
      CallsCsv(metric_dir, services, alert - kMetricsBeforeS, alert + kMetricsAfterS);
  if (!calls.empty()) WriteFile(cdir / "calls.csv", calls);
}

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: nezha_to_cases OUT_DIR [DATA_DIR] [--systems a,b]");
  const fs::path out_root = argv[1];
  std::string data, only;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--systems" && i + 1 < argc) {
      only = argv[++i];
    } else if (a.rfind("--", 0) == 0) {
      Die("unknown argument " + a);
    } else {
      data = a;
    }
  }
  if (data.empty() && std::getenv("BACKSIGHT_DATA")) data = std::getenv("BACKSIGHT_DATA");
  if (data.empty()) data = "../shared/data";
  const std::vector<std::string> systems = backsight::bench::NezhaSystems(data, only);
  if (systems.empty()) Die("no Nezha-layout system (a folder with cases_input.tsv) in " + data);
  for (const std::string& system : systems) {
    const std::string dir = data + "/" + system + "/";
    const Table cases = ReadTsv(dir + "cases_input.tsv");
    const int c_id = cases.Col("case_id"), c_start = cases.Col("fault_start_epoch_s");
    const int c_mdir = cases.Col("metric_dir"), c_log = cases.Col("log_files");
    const int c_tr = cases.Col("trace_files"), c_nlog = cases.Col("normal_log_files");
    const int c_ntr = cases.Col("normal_trace_files"), c_date = cases.Col("date");
    const int c_sys = cases.Col("system");
    const std::string system_name = cases.rows.empty() ? system : cases.rows[0][c_sys];
    const std::string prefix =
        backsight::bench::CaseIdPrefix(cases.rows.empty() ? "" : cases.rows[0][c_id], system);
    std::map<std::string, std::vector<PodMetrics>> metrics_by_dir;
    std::map<std::string, std::set<std::string>> services_by_dir;
    // Per date: last fault start, metric dir, normal files, session end.
    struct Day {
      int64_t last_fault = 0;
      std::string metric_dir, normal_log, normal_trace;
    };
    std::map<std::string, Day> days;
    int written = 0;
    for (const auto& row : cases.rows) {
      const std::string& mdir = row[c_mdir];
      if (!metrics_by_dir.count(mdir)) {
        auto& pods = metrics_by_dir[mdir];
        for (const auto& e : fs::directory_iterator(dir + mdir)) {
          const std::string name = e.path().filename().string();
          const std::string suffix = "_metric.csv.gz";
          if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix)
            continue;
          PodMetrics p;
          p.pod = name.substr(0, name.size() - suffix.size());
          p.table = ReadCsvFile(e.path().string());
          services_by_dir[mdir].insert(std::string(backsight::ingest::ServiceOfPod(p.pod)));
          pods.push_back(std::move(p));
        }
        std::sort(pods.begin(), pods.end(),
                  [](const PodMetrics& a, const PodMetrics& b) { return a.pod < b.pod; });
      }
      const int64_t alert = std::strtoll(row[c_start].c_str(), nullptr, 10);
      Day& day = days[row[c_date]];
      day.last_fault = std::max(day.last_fault, alert);
      day.metric_dir = mdir;
      day.normal_log = row[c_nlog];
      day.normal_trace = row[c_ntr];

      const fs::path cdir = out_root / system / row[c_id];
      WriteMetricCase(cdir, alert, metrics_by_dir[mdir], dir + mdir, services_by_dir[mdir],
                      GraphCsv(dir + mdir, services_by_dir[mdir]));
      WriteFile(cdir / "spans.csv", SpansCsv(dir, row[c_tr], nullptr));
      WriteFile(cdir / "logs.csv", LogsCsv(dir, row[c_log]));
      fs::create_directories(cdir / "baseline");
      WriteFile(cdir / "baseline" / "spans.csv", SpansCsv(dir, row[c_ntr], nullptr));
      WriteFile(cdir / "baseline" / "logs.csv", LogsCsv(dir, row[c_nlog]));
      ++written;
    }
    // Normal cases.
    std::string normal_tsv = "case_id\tsystem\troot_cause_service\tfault_type\n";
    int normals = 0;
    for (const auto& [date, day] : days) {
      const auto& pods = metrics_by_dir[day.metric_dir];
      int64_t session_end = 0;
      for (const auto& p : pods) {
        const int c_ts = p.table.Col("TimeStamp");
        for (const auto& r : p.table.rows) {
          if (r.size() == p.table.header.size())
            session_end =
                std::max<int64_t>(session_end, std::strtoll(r[c_ts].c_str(), nullptr, 10));
        }
      }
      const std::string graph = GraphCsv(dir + day.metric_dir, services_by_dir[day.metric_dir]);
      for (int k = 0; k < kNormalPerDay; ++k) {
        const int64_t alert = day.last_fault + kQuietAfterLastFaultS + k * kNormalSpacingS;
        if (alert + kMetricsAfterS > session_end) break;
        const std::string id = prefix + "-normal-" + date + "-" + std::to_string(k + 1);
        WriteMetricCase(out_root / system / id, alert, pods, dir + day.metric_dir,
                        services_by_dir[day.metric_dir], graph);
        normal_tsv += id + "\t" + system_name + "\t\tnoissue\n";
        ++normals;
      }
      if (!day.normal_trace.empty()) {
        int64_t first_ns = 0;
        const std::string spans = SpansCsv(dir, day.normal_trace, &first_ns);
        const int64_t alert = first_ns / 1000000000 + kSplitS;
        const std::string id = prefix + "-normal-" + date + "-minute";
        const fs::path cdir = out_root / system / id;
        WriteMetricCase(cdir, alert, pods, dir + day.metric_dir, services_by_dir[day.metric_dir],
                        graph);
        WriteFile(cdir / "spans.csv", spans);
        WriteFile(cdir / "logs.csv", LogsCsv(dir, day.normal_log));
        normal_tsv += id + "\t" + system_name + "\t\tnoissue\n";
        ++normals;
      }
    }
    WriteFile(out_root / system / "normal_cases.tsv", normal_tsv);
    std::printf("%s: %d fault cases, %d normal cases -> %s\n", system.c_str(), written, normals,
                (out_root / system).string().c_str());
  }
  return 0;
}
