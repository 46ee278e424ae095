// `backsight detect`: streaming metric anomaly detection over CSV series files.
//
// Each input file is one series, read row by row (ingest::CsvSeriesReader) and fed to a fresh
// default detector; every row is written out at once (CSV or JSON lines), so memory does not grow
// with the input. A human summary goes to stderr; optionally a plot is drawn.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backsight/cli/commands.h"
#include "backsight/core/csv.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/detect/default_detector.h"
#include "backsight/ingest/csv_series.h"
#include "backsight/outputs/anomaly_intervals.h"
#include "backsight/outputs/plot.h"

namespace backsight::cli {
namespace {

constexpr int kReasons = detect::kRejectReasonCount;

struct DetectArgs {
  std::vector<std::string> files;
  std::string output = "-";
  std::string format = "csv";
  std::string plot;
  std::string timestamp_column;
  std::string value_column;
  bool fail_on_anomaly = false;
  bool quiet = false;
};

// Buffered writer to a file or stdout; remembers the first write error.
class Output {
 public:
  ~Output() { Close(); }
  bool Open(const std::string& path) {
    path_ = path;
    if (path == "-") {
      f_ = stdout;
      path_ = "<stdout>";
    } else {
      f_ = std::fopen(path.c_str(), "wb");
      if (f_ == nullptr) return false;
      owns_ = true;
    }
    buf_.reserve(1 << 16);
    return true;
  }
  std::string& buf() { return buf_; }
  // Writes the buffer out when it is large (call after each row).
  void MaybeFlush() {
    if (buf_.size() >= (1 << 16) - 512) Drain();
  }
  // Writes everything buffered and flushes the stream. Returns false on a write error.
  bool Flush() {
    Drain();
    if (f_ != nullptr && std::fflush(f_) != 0) ok_ = false;
    return ok_;
  }
  bool Close() {
    Flush();
    if (owns_ && f_ != nullptr && std::fclose(f_) != 0) ok_ = false;
    owns_ = false;
    f_ = nullptr;
    return ok_;
  }
  const std::string& path() const { return path_; }

 private:
  void Drain() {
    if (f_ != nullptr && !buf_.empty() &&
        std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      ok_ = false;
    }
    buf_.clear();
  }
  std::FILE* f_ = nullptr;
  bool owns_ = false;
  bool ok_ = true;
  std::string path_;
  std::string buf_;
};

// JSON number or null (JSON has no NaN/inf).
void AppendJsonNumber(std::string* out, double v, int precision = 0) {
  if (std::isfinite(v))
    AppendDouble(v, out, precision);
  else
    out->append("null");
}

// What happened in one file.
struct FileReport {
  std::string name;
  uint64_t rows = 0;
  uint64_t scored = 0;
  uint64_t rejected[kReasons] = {};
  uint64_t rejected_other = 0;
  uint64_t warmup_rows = 0;
  TimestampNs warmup_end = 0;
  uint64_t gaps = 0;
  outputs::AnomalyIntervalTracker tracker;
};

std::string PrintScore(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void PrintSummary(const FileReport& r) {
  std::string out = "backsight detect: " + r.name + "\n";
  uint64_t rejected = r.rejected_other;
  for (uint64_t c : r.rejected) rejected += c;
  out += "  rows: " + std::to_string(r.rows) + " read, " + std::to_string(r.scored) + " scored, " +
         std::to_string(rejected) + " rejected\n";
  if (rejected > 0) {
    out += "  rejected:";
    const char* sep = " ";
    for (int i = 0; i < kReasons; ++i) {
      if (r.rejected[i] == 0) continue;
      out += sep + std::to_string(r.rejected[i]) + " " + ReasonName(detect::kRejectReasons[i]);
      sep = ", ";
    }
    if (r.rejected_other > 0) out += sep + std::to_string(r.rejected_other) + " other";
    out += " (written with empty anomaly_score)\n";
  }
  if (r.gaps > 0) out += "  gaps in time: " + std::to_string(r.gaps) + "\n";
  out += "  warm-up: " + std::to_string(r.warmup_rows) + " rows";
  if (r.warmup_rows > 0) out += " (until " + FormatTimestamp(r.warmup_end) + ")";
  if (r.warmup_rows == r.scored && r.scored > 0) out += " - the series ended during warm-up";
  out += "\n";
  const auto& ivs = r.tracker.intervals();
  out += "  anomalies: " + std::to_string(r.tracker.anomalous_rows()) + " rows in " +
         std::to_string(ivs.size()) + (ivs.size() == 1 ? " interval\n" : " intervals\n");
  if (!ivs.empty()) {
    // The 10 intervals with the highest peaks, highest first.
    constexpr size_t kShown = 10;
    const std::vector<outputs::AnomalyInterval> top = outputs::TopIntervalsByPeak(ivs, kShown);
    char line[256];
    std::snprintf(line, sizeof line, "    %-19s  %-19s  %10s  %-19s  %6s\n", "start", "end",
                  "peak score", "peak at", "rows");
    out += line;
    for (const outputs::AnomalyInterval& iv : top) {
      std::snprintf(line, sizeof line, "    %-19s  %-19s  %10s  %-19s  %6llu\n",
                    FormatTimestamp(iv.start_ns).c_str(), FormatTimestamp(iv.end_ns).c_str(),
                    PrintScore(iv.peak_score).c_str(), FormatTimestamp(iv.peak_ns).c_str(),
                    static_cast<unsigned long long>(iv.rows));
      out += line;
    }
    if (ivs.size() > kShown) {
      out += "    ... and " + std::to_string(ivs.size() - kShown) +
             " more (the 10 highest peaks are shown, highest first)\n";
    }
  }
  std::fputs(out.c_str(), stderr);
}

void PrintError(const std::string& msg) {
  std::fprintf(stderr, "backsight detect: error: %s\n", msg.c_str());
}

int RunDetect(const DetectArgs& args) {
  std::vector<std::string> files = args.files;
  if (files.empty()) files.push_back("-");
  if (std::count(files.begin(), files.end(), "-") > 1) {
    PrintError("stdin ('-') can be given only once");
    return kExitUsage;
  }
  if (!args.plot.empty() && outputs::PlotFormatOf(args.plot) == outputs::PlotFormat::kUnknown) {
    PrintError("--plot '" + args.plot + "': unknown file type (use .png, .svg or .html)");
    return kExitUsage;
  }
  const bool jsonl = args.format == "jsonl";
  const bool several = files.size() > 1;
  Output out;
  if (!out.Open(args.output)) {
    PrintError("cannot write '" + args.output + "': " + std::strerror(errno));
    return kExitIoError;
  }
  std::string& buf = out.buf();
  if (!jsonl)
    buf += several ? "file,timestamp,value,anomaly_score,is_anomaly\n"
                   : "timestamp,value,anomaly_score,is_anomaly\n";
  ingest::CsvSeriesOptions copt;
  copt.timestamp_column = args.timestamp_column;
  copt.value_column = args.value_column;
  std::vector<std::unique_ptr<outputs::PlotSeries>> plots;
  bool any_anomaly = false;
  int rc = kExitOk;
  std::string error;

  for (const std::string& path : files) {
    std::unique_ptr<ingest::CsvSeriesReader> reader;
    Status st = ingest::CsvSeriesReader::Open(path, copt, &reader);
    if (!st.ok()) {
      error = st.message();
      rc = st.code() == Status::Code::kIoError ? kExitIoError : kExitBadInput;
      break;
    }
    FileReport rep;
    rep.name = reader->name();
    // Per-file prefixes for several files: CSV column / JSON field.
    std::string csv_prefix;
    if (several) {
      AppendCsvField(rep.name, &csv_prefix);
      csv_prefix += ',';
    }
    const std::string json_prefix =
        several ? "{\"file\":" +
                      nlohmann::json(rep.name).dump(-1, ' ', false,
                                                    nlohmann::json::error_handler_t::replace) +
                      ","
                : "{";
    std::unique_ptr<outputs::PlotSeries> plot;
    if (!args.plot.empty()) {
      plot = std::make_unique<outputs::PlotSeries>(rep.name);
      plot->set_value_label(outputs::ValueAxisLabel(reader->value_column(), rep.name));
    }
    std::unique_ptr<detect::Detector> detector = detect::MakeDefaultDetector();
    detect::DetectionResult res;
    ingest::SeriesRow row;
    for (;;) {
      bool eof = false;
      st = reader->Next(&row, &eof);
      if (!st.ok()) break;
      if (eof) break;
      ++rep.rows;
      const Status ds = detector->Update(row.ts, row.value, &res);
      const char* reject_reason = nullptr;
      if (ds.ok()) {
        ++rep.scored;
        if (res.warming_up) {
          ++rep.warmup_rows;
          rep.warmup_end = row.ts;
        }
        rep.tracker.Add(row.ts, res.anomaly_score, res.is_anomaly);
        any_anomaly = any_anomaly || res.is_anomaly;
        if (plot) {
          plot->Add(row.ts, row.value, res.yhat_lower, res.yhat_upper, res.anomaly_score,
                    res.is_anomaly);
        }
      } else {
        const int i = detect::RejectIndex(ds.reason());
        if (i >= 0) {
          ++rep.rejected[i];
          reject_reason = ReasonName(ds.reason());
        } else {
          ++rep.rejected_other;
          reject_reason = "rejected";
        }
      }
      if (!jsonl) {
        buf += csv_prefix;
        AppendTimestamp(&buf, row.ts);
        buf += ',';
        AppendDouble(row.value, &buf);
        buf += ',';
        if (ds.ok()) {
          AppendDouble(res.anomaly_score, &buf, 6);
          buf += res.is_anomaly ? ",1\n" : ",0\n";
        } else {
          buf += ",\n";
        }
      } else {
        buf += json_prefix;
        buf += "\"timestamp\":\"";
        AppendTimestamp(&buf, row.ts);
        buf += "\",\"value\":";
        AppendJsonNumber(&buf, row.value);
        if (ds.ok()) {
          buf += ",\"anomaly_score\":";
          AppendJsonNumber(&buf, res.anomaly_score, 6);
          buf += res.is_anomaly ? ",\"is_anomaly\":true" : ",\"is_anomaly\":false";
          buf += ",\"yhat\":";
          AppendJsonNumber(&buf, res.yhat, 8);
          buf += ",\"yhat_lower\":";
          AppendJsonNumber(&buf, res.yhat_lower, 8);
          buf += ",\"yhat_upper\":";
          AppendJsonNumber(&buf, res.yhat_upper, 8);
          buf += res.warming_up ? ",\"warming_up\":true}\n" : ",\"warming_up\":false}\n";
        } else {
          buf +=
              ",\"anomaly_score\":null,\"is_anomaly\":null,\"yhat\":null,\"yhat_lower\":null,"
              "\"yhat_upper\":null,\"warming_up\":null,\"rejected\":\"";
          buf += reject_reason;
          buf += "\"}\n";
        }
      }
      out.MaybeFlush();
    }
    rep.tracker.Finish();
    rep.gaps = detector->stats().gaps;
    if (!args.quiet) PrintSummary(rep);
    if (!st.ok()) {
      error = st.message();
      rc = st.code() == Status::Code::kIoError ? kExitIoError : kExitBadInput;
      break;
    }
    if (plot) {
      std::string sub = std::to_string(rep.rows) + " rows, " +
                        std::to_string(rep.tracker.anomalous_rows()) + " anomalous in " +
                        std::to_string(rep.tracker.intervals().size()) + " intervals";
      plot->set_subtitle(std::move(sub));
      plot->set_intervals(rep.tracker.intervals());
      if (rep.warmup_rows > 0) plot->set_warmup_end(rep.warmup_end);
      plots.push_back(std::move(plot));
    }
  }
  // Whatever was written before an error is kept.
  if (!out.Close()) {
    PrintError("cannot write '" + out.path() + "': write error");
    return kExitIoError;
  }
  if (rc != kExitOk) {
    PrintError(error);
    return rc;
  }
  if (!args.plot.empty() && !plots.empty()) {
    std::vector<const outputs::PlotSeries*> panels;
    for (const auto& p : plots) panels.push_back(p.get());
    Status ps = outputs::WritePlot(panels, outputs::PlotOptions{}, args.plot);
    if (!ps.ok()) {
      PrintError(ps.message());
      return kExitIoError;
    }
    if (!args.quiet)
      std::fprintf(stderr, "backsight detect: plot written to %s\n", args.plot.c_str());
  }
  return args.fail_on_anomaly && any_anomaly ? kExitAnomalies : kExitOk;
}

constexpr const char* kFooter = R"(
Input: one series per file, CSV with a header line. The timestamp column is the one named
'timestamp' (else 'time', 'ts', 'datetime', 'date'; else the first of exactly two columns), the
value column is 'value' (else the other of exactly two columns); names are case-insensitive and
can be chosen with --timestamp-column/--value-column. Timestamps: ISO-8601/RFC 3339
('2014-07-01 00:30:00', '2014-07-01T00:30:00Z', offsets) or epoch seconds/ms/us/ns (by
magnitude). Quoted fields, CRLF and blank lines are accepted. An empty value or NaN/null/NA is a
missing measurement. FILE '-' or no FILE reads stdin. Every file gets a fresh detector.

Output (-o, default stdout), one line per input row, timestamps as 'YYYY-MM-DD HH:MM:SS' (UTC):
  csv    timestamp,value,anomaly_score,is_anomaly        (is_anomaly is 0/1)
  jsonl  {"timestamp","value","anomaly_score","is_anomaly","yhat","yhat_lower","yhat_upper",
          "warming_up"}  (yhat* are null while unknown)
With several files, CSV gets a leading 'file' column and JSON lines a "file" field.
anomaly_score > 1 means anomalous; during the detector's warm-up (the first 500 rows) is_anomaly
is never set and anomaly_score is capped at 1 (JSON lines mark those rows "warming_up":true).

Rows the detector refuses are not errors: a non-finite or missing value, a duplicate timestamp
or one earlier than the previous row. They are written with an empty anomaly_score and
is_anomaly (JSON: those and yhat* null, plus "rejected":"<reason>"), and counted by reason in the
summary.
A malformed row (unparseable timestamp or value, too few fields, broken quoting) is an error:
'file:line: reason' is printed, output written so far is kept, and the exit code is 3.

Summary (stderr, unless --quiet): per file rows read/scored/rejected by reason, warm-up length,
anomalous intervals (start, end, peak score, peak time, rows; the 10 highest peaks, highest first).
--plot draws the series, its expected band (yhat_lower..yhat_upper), anomalies in red and the
anomaly score; .png or .svg image, or .html page embedding the SVG and a table of intervals.

Exit codes: 0 ok; 1 anomalies found (only with --fail-on-anomaly); 2 usage error;
3 bad input data (file:line printed); 4 I/O error (cannot open/read/write a file).)";

}  // namespace

void RegisterDetect(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "detect", "Score metric series (CSV timestamp,value) for anomalies, streaming");
  cmd->add_option("FILE", args->files, "Input CSV files ('-' or none: stdin)");
  cmd->add_option("-o,--output", args->output, "Output file ('-': stdout)")->default_str("-");
  cmd->add_option("--format", args->format, "Output format: csv or jsonl")
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->default_str("csv");
  cmd->add_option("--plot", args->plot, "Also draw a plot: FILE.png, FILE.svg or FILE.html");
  cmd->add_option("--timestamp-column", args->timestamp_column,
                  "Name of the timestamp column (default: automatic)");
  cmd->add_option("--value-column", args->value_column,
                  "Name of the value column (default: automatic)");
  cmd->add_flag("--fail-on-anomaly", args->fail_on_anomaly,
                "Exit with code 1 if any row is anomalous");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary on stderr (errors are still printed)");
  cmd->footer(kFooter);
  cmd->callback([args, exit_code] { *exit_code = RunDetect(*args); });
}

}  // namespace backsight::cli
