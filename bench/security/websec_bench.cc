// websec_bench [--data DIR] [--predictions OUT.tsv] [--no-crs] [--no-prefilter] [--repeat N]
//
// Runs the `backsight security` analyzer over DIR/access.log.gz (default $BACKSIGHT_DATA/websec)
// and scores it against DIR/labels.tsv with evaluate/websec_scorer.h (the rules of
// shared/tools/websec_score_ref.py; --predictions writes the TSV that script reads, to check one
// against the other). Prints recall of attacking clients, false positives per 10,000 benign
// clients, kind accuracy, per-kind figures, lines/s of the whole pipeline (parse + analyzer +
// pre-filter + ModSecurity/CRS, one core), and the cost of ModSecurity per inspected request.
// --repeat N times N passes over the log (fresh analyzer each) for a steadier lines/s.
// --log FILE: time the pipeline over another access log (no labels: figures of speed only).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/core/line_reader.h"
#include "backsight/evaluate/websec_scorer.h"
#include "backsight/security/analyzer.h"
#include "backsight/security/auth_log.h"
#include "backsight/security/findings_format.h"
#include "backsight/security/request_inspector.h"

namespace bs = backsight::security;

namespace {
// CPU time of this thread: lines/s "on one core" even while other processes share the machine.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace
namespace ev = backsight::evaluate;

int main(int argc, char** argv) {
  const char* data_env = std::getenv("BACKSIGHT_DATA");
  std::string dir = std::string(data_env ? data_env : "../shared/data") + "/websec";
  std::string predictions_path;
  bs::InspectorOptions io;
  int repeat = 1;
  std::string log_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--predictions" && i + 1 < argc) {
      predictions_path = argv[++i];
    } else if (a == "--log" && i + 1 < argc) {
      log_path = argv[++i];
    } else if (a == "--paranoia" && i + 1 < argc) {
      io.paranoia_level = std::atoi(argv[++i]);
    } else if (a == "--no-crs") {
      io.modsecurity = false;
    } else if (a == "--no-prefilter") {
      io.prefilter = false;
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: websec_bench [--data DIR] [--predictions OUT.tsv] [--no-crs] "
                   "[--no-prefilter] [--repeat N] [--log FILE]\n");
      return 2;
    }
  }
  // The log in memory first: the timing is of the pipeline, not of gunzip.
  std::vector<std::string> lines;
  {
    backsight::LineReader reader;
    backsight::Status st = reader.Open(log_path.empty() ? dir + "/access.log.gz" : log_path);
    if (!st.ok()) {
      std::fprintf(stderr, "websec_bench: %s\n", st.message().c_str());
      return 1;
    }
    std::string line;
    while (reader.Next(&line)) lines.push_back(line);
  }
  std::vector<bs::Finding> findings;
  std::set<std::string> all_ips;
  double seconds = 0;
  bs::InspectorStats crs;
  uint64_t malformed = 0;
  for (int pass = 0; pass < repeat; ++pass) {
    std::unique_ptr<bs::RequestInspector> inspector;
    backsight::Status st = bs::RequestInspector::Create(io, &inspector);
    if (!st.ok()) {
      std::fprintf(stderr, "websec_bench: %s\n", st.message().c_str());
      return 1;
    }
    bs::SecurityAnalyzer analyzer({}, inspector.get());
    backsight::api::AccessLogParser parser;
    backsight::api::AccessRecord rec;
    malformed = 0;
    const double t0 = ThreadCpuSeconds();
    for (const std::string& line : lines) {
      if (parser.Parse(line, &rec).ok()) {
        analyzer.AddRequest(rec, line);
        if (pass == 0) all_ips.insert(std::string(rec.client));
      } else {
        ++malformed;
      }
    }
    findings = analyzer.Finish();
    seconds += ThreadCpuSeconds() - t0;
    crs = inspector->stats();
  }
  const double n_lines = double(lines.size()) * repeat;
  std::printf(
      "throughput: %.0f lines/s (%zu lines x %d passes, %.3f s thread CPU time; %llu malformed "
      "per pass)\n",
      n_lines / seconds, lines.size(), repeat, seconds, static_cast<unsigned long long>(malformed));
  if (io.modsecurity) {
    std::printf(
        "ModSecurity/CRS: %llu of %llu requests past the %s (%.2f%%), %llu hits, %.1f us "
        "per inspected request, %.1f%% of the pipeline's time (last pass)\n",
        static_cast<unsigned long long>(crs.inspected),
        static_cast<unsigned long long>(crs.requests),
        io.prefilter ? "pre-filter" : "(disabled) pre-filter",
        100.0 * crs.inspected / std::max<uint64_t>(1, crs.requests),
        static_cast<unsigned long long>(crs.hits),
        1e6 * crs.modsec_seconds / std::max<uint64_t>(1, crs.inspected),
        100.0 * crs.modsec_seconds * repeat / seconds);
  }
  if (!log_path.empty()) {
    std::printf("%zu findings (no labels for --log)\n", findings.size());
    return 0;
  }
  std::vector<ev::WebsecRow> labels, preds;
  std::set<std::string> ignore;
  backsight::Status st = ev::ReadWebsecLabels(dir + "/labels.tsv", &labels, &ignore);
  if (!st.ok()) {
    std::fprintf(stderr, "websec_bench: %s\n", st.message().c_str());
    return 1;
  }
  for (const bs::Finding& f : findings) {
    preds.push_back({f.source_ip, double(f.start_s), double(f.end_s), bs::KindName(f.kind)});
  }
  if (!predictions_path.empty()) {
    std::ofstream(predictions_path) << bs::FormatFindings(findings, bs::FindingsFormat::kTsv);
  }
  const ev::WebsecScore s = ev::ScoreWebsec(labels, ignore, preds, all_ips);
  std::printf("%-20s %8s %6s %7s %8s %8s %6s %6s %6s\n", "kind", "labelled", "found", "recall",
              "k_recall", "pred_ips", "tp", "fp", "wrong");
  for (const auto& [k, r] : s.per_kind) {
    std::printf("%-20s %8d %6d %7.3f %8.3f %8d %6d %6d %6d\n", k.c_str(), r.labelled, r.found,
                r.recall(), r.kind_recall(), r.pred_ips, r.tp_ips, r.fp_ips, r.wrong_kind_ips);
  }
  const ev::WebsecKindScore& o = s.overall;
  std::printf("%-20s %8d %6d %7.3f %8.3f %8d %6d %6d\n", "overall", o.labelled, o.found, o.recall(),
              o.kind_recall(), o.pred_ips, o.tp_ips, o.fp_ips);
  std::printf(
      "recall %.3f (bar 0.90); FP per 10k benign clients %.1f (%d of %d; bar 10); kind "
      "right for %.1f%% of those found (bar 85%%); ignore-list clients named %d\n",
      o.recall(), s.fp_per_10k(), s.benign_flagged, s.benign_ips, 100 * s.kind_accuracy(),
      s.ignored_flagged);
  return 0;
}
