// tte_bench: runs the streaming time-to-exhaustion estimator (backsight/forecast/tte.h) over the
// TTE benchmark (../shared/data/tte, README there) under its protocol, writes the predictions
// in the protocol's layout and prints the headline measures overall and per scenario
// (backsight/evaluate/tte_scorer.h; the same figures as shared/tools/tte_score_ref.py).
//
// Protocol as applied: one fresh estimator per series, samples fed in order; the prediction at
// an evaluation time t is taken after every sample with timestamp <= t and before any later
// one. The predictor sees only the series, its `limit` and the evaluation grid; `scenario`,
// `exhaust_ts` and `exhaust_class` go to the scorer only.
//
// Usage: tte_bench [--data DIR] [--out PREDICTIONS.csv] [--quiet]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backsight/core/file_util.h"
#include "backsight/core/number_format.h"
#include "backsight/evaluate/tte_scorer.h"
#include "backsight/forecast/tte.h"
#include "backsight/ingest/csv_series.h"

namespace {

using backsight::Status;
using backsight::evaluate::TteLabel;
using backsight::evaluate::TteScore;
using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Opt(const std::optional<double>& v) {
  return v ? backsight::FormatDouble(*v) : std::string("-");
}

// Replays one series; fills one prediction per evaluation point (seconds, +inf = none).
Status RunSeries(const std::string& path, const TteLabel& label, std::vector<double>* preds,
                 uint64_t* samples) {
  std::unique_ptr<backsight::ingest::CsvSeriesReader> reader;
  BACKSIGHT_RETURN_IF_ERROR(backsight::ingest::CsvSeriesReader::Open(path, {}, &reader));
  backsight::forecast::TteEstimator est(label.limit);
  std::vector<int64_t> points = label.GridPoints();
  preds->assign(points.size(), kInf);
  size_t next = 0;
  auto emit_before = [&](backsight::TimestampNs ts_ns) {
    while (next < points.size() && points[next] * backsight::kNanosPerSecond < ts_ns) {
      backsight::TimestampNs t = points[next] * backsight::kNanosPerSecond;
      backsight::forecast::TteEstimate e = est.Estimate(t);
      (*preds)[next] = e.foreseen ? e.tte_seconds : kInf;
      ++next;
    }
  };
  for (;;) {
    backsight::ingest::SeriesRow row;
    bool eof = false;
    BACKSIGHT_RETURN_IF_ERROR(reader->Next(&row, &eof));
    if (eof) break;
    emit_before(row.ts);
    (void)est.Update(row.ts, row.value);
    ++*samples;
  }
  emit_before(std::numeric_limits<backsight::TimestampNs>::max());
  return Status::OK();
}

void PrintRow(const std::string& name, const TteScore& s) {
  std::printf("%-26s %7lld %8s %9s %8s %10s %10s %10s\n", name.c_str(),
              static_cast<long long>(s.points), Opt(s.acc_20pct_48h).c_str(),
              Opt(s.detected).c_str(), Opt(s.lead_mean_h).c_str(),
              Opt(s.false_warn_per_1000_series_days).c_str(),
              Opt(s.false_warn_hours_per_1000_series_days).c_str(),
              Opt(s.premature_warn_per_1000_series_days).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TTE benchmark: streaming time-to-exhaustion over ../shared/data/tte"};
  const char* env = std::getenv("BACKSIGHT_DATA");
  std::string data = env != nullptr ? std::string(env) + "/tte" : "../shared/data/tte";
  std::string out;
  bool quiet = false;
  app.add_option("--data", data, "benchmark directory (labels.csv, series/)");
  app.add_option("--out", out, "write predictions CSV (series_id,timestamp,tte_seconds)");
  app.add_flag("--quiet", quiet, "print the overall row only");
  CLI11_PARSE(app, argc, argv);

  std::string text;
  Status st = backsight::ReadFileToString(data + "/labels.csv", &text);
  std::vector<TteLabel> labels;
  if (st.ok()) st = backsight::evaluate::ParseTteLabels(text, &labels);
  if (!st.ok()) {
    std::fprintf(stderr, "tte_bench: %s\n", st.ToString().c_str());
    return 1;
  }
  std::vector<std::vector<double>> preds(labels.size());
  uint64_t samples = 0;
  auto t0 = Clock::now();
  for (size_t i = 0; i < labels.size(); ++i) {
    std::string path = data + "/series/" + labels[i].series_id + ".csv";
    st = RunSeries(path, labels[i], &preds[i], &samples);
    if (!st.ok()) {
      std::fprintf(stderr, "tte_bench: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  if (!out.empty()) {
    std::string csv = "series_id,timestamp,tte_seconds\n";
    for (size_t i = 0; i < labels.size(); ++i) {
      std::vector<int64_t> pts = labels[i].GridPoints();
      for (size_t k = 0; k < pts.size(); ++k) {
        csv += labels[i].series_id + "," + std::to_string(pts[k]) + ",";
        if (std::isfinite(preds[i][k])) csv += std::to_string(std::llround(preds[i][k]));
        csv += "\n";
      }
    }
    st = backsight::WriteFileAtomically(out, csv);
    if (!st.ok()) {
      std::fprintf(stderr, "tte_bench: %s\n", st.ToString().c_str());
      return 1;
    }
  }

  std::printf("%-26s %7s %8s %9s %8s %10s %10s %10s\n", "scenario", "points", "acc20_48",
              "detected", "lead_h", "false/1kd", "fhours/1kd", "prem/1kd");
  PrintRow("ALL", backsight::evaluate::ScoreTte(labels, preds));
  if (!quiet) {
    std::map<std::string, int> scenarios;
    for (const TteLabel& l : labels) scenarios[l.scenario]++;
    for (const auto& [name, n] : scenarios) {
      PrintRow(name, backsight::evaluate::ScoreTte(labels, preds, name));
    }
  }
  std::printf("%zu series, %llu samples in %.2f s (CSV parsing included)\n", labels.size(),
              static_cast<unsigned long long>(samples), secs);
  return 0;
}
