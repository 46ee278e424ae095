// `backsight forecast`: forecasts with prediction intervals for each series of a CSV file.
//
// The whole file is read (core/csv.h), rows are grouped by series, each series is fitted by one
// forecast::AutoForecaster (periods, model and interval calibration chosen from its own data) and
// the N steps after its last sample are written, CSV or JSON lines; optionally a plot of history
// and forecast band.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backsight/cli/commands.h"
#include "backsight/cli/forecast_tte.h"
#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/forecast/auto_forecaster.h"
#include "backsight/outputs/plot.h"

namespace backsight::cli {
namespace {

// Longest horizon accepted: a year of minutes.
constexpr int kMaxHorizon = 525600;

struct ForecastArgs {
  std::string file;
  int horizon = 0;
  std::string output = "-";
  std::string format = "csv";
  std::string plot;
  double coverage = 0.95;
  bool quiet = false;
  // --tte mode (forecast_tte.h).
  bool tte = false;
  double limit = std::nan("");
  bool interval = false;
};

// One series of the input, in file order.
struct InputSeries {
  std::string name;
  std::vector<TimestampNs> ts;
  std::vector<double> values;
  uint64_t last_line = 0;
};

void PrintError(const std::string& msg) {
  std::fprintf(stderr, "backsight forecast: error: %s\n", msg.c_str());
}

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Column positions of the input; series < 0 for the one-series layout.
struct Columns {
  int series = -1, timestamp = 0, value = 1;
  size_t count = 2;
};

Status FindColumns(const std::vector<std::string_view>& header, Columns* c) {
  const auto find = [&](std::initializer_list<const char*> names) {
    for (size_t i = 0; i < header.size(); ++i) {
      for (const char* n : names) {
        if (Lower(header[i]) == n) return static_cast<int>(i);
      }
    }
    return -1;
  };
  c->count = header.size();
  if (header.size() == 2) {
    c->timestamp = find({"timestamp", "time", "ts", "datetime", "date"});
    c->value = find({"value"});
    if (c->timestamp < 0 && c->value < 0) c->timestamp = 0, c->value = 1;
    if (c->timestamp < 0) c->timestamp = 1 - c->value;
    if (c->value < 0) c->value = 1 - c->timestamp;
    return Status::OK();
  }
  if (header.size() == 3) {
    c->series = find({"series"});
    c->timestamp = find({"timestamp", "time", "ts", "datetime", "date"});
    c->value = find({"value"});
    if (c->series < 0 && c->timestamp < 0 && c->value < 0) {
      *c = Columns{0, 1, 2, 3};
      return Status::OK();
    }
    if (c->series >= 0 && c->timestamp >= 0 && c->value >= 0) return Status::OK();
  }
  return Status::InvalidArgument(
      "1: expected a header 'timestamp,value' or 'series,timestamp,value', got " +
      std::to_string(header.size()) + " columns");
}

// "name:L: reason" from a CsvReader error "line L: reason".
Status AtFile(const std::string& name, const Status& st) {
  std::string_view m = st.message();
  if (m.substr(0, 5) == "line ") m.remove_prefix(5);
  return Status::InvalidArgument(name + ":" + std::string(m));
}

// Reads every row of `text` into series (in order of first appearance). Errors name
// `name:line`.
Status ReadSeries(const std::string& name, std::string_view text, bool* long_layout,
                  std::vector<InputSeries>* out) {
  CsvReader reader(text);
  std::vector<std::string_view> f;
  bool eof = false;
  Status st = reader.Next(&f, &eof);
  if (!st.ok()) return AtFile(name, st);
  if (eof) return Status::InvalidArgument(name + ": empty input (no header)");
  Columns col;
  st = FindColumns(f, &col);
  if (!st.ok()) return AtFile(name, st);
  *long_layout = col.series >= 0;
  std::map<std::string, size_t, std::less<>> index;
  while (true) {
    st = reader.Next(&f, &eof);
    if (!st.ok()) return AtFile(name, st);
    if (eof) break;
    const std::string where = name + ":" + std::to_string(reader.line()) + ": ";
    if (f.size() != col.count) {
      return Status::InvalidArgument(where + "expected " + std::to_string(col.count) +
                                     " fields, got " + std::to_string(f.size()));
    }
    TimestampNs ts;
    const std::string_view ts_text = Trim(f[col.timestamp]);
    if (!TryParseTimestamp(ts_text, &ts)) {
      return Status::InvalidArgument(where + "bad timestamp '" + std::string(ts_text) + "'");
    }
    const std::string_view v_text = Trim(f[col.value]);
    double v = 0;
    const auto [p, ec] = std::from_chars(v_text.data(), v_text.data() + v_text.size(), v);
    if (v_text.empty() || ec != std::errc() || p != v_text.data() + v_text.size() ||
        !std::isfinite(v)) {
      return Status::InvalidArgument(where + "value '" + std::string(v_text) +
                                     "' is not a finite number");
    }
    const std::string_view key = col.series >= 0 ? Trim(f[col.series]) : std::string_view();
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(std::string(key), out->size()).first;
      out->push_back(InputSeries{std::string(key), {}, {}, 0});
    }
    InputSeries& s = (*out)[it->second];
    if (!s.ts.empty() && ts <= s.ts.back()) {
      return Status::InvalidArgument(
          where + "timestamp " + FormatTimestamp(ts) + " is not after the previous one (" +
          FormatTimestamp(s.ts.back()) + ")" +
          (col.series >= 0 ? " of series '" + s.name + "'" : std::string()));
    }
    s.ts.push_back(ts);
    s.values.push_back(v);
    s.last_line = reader.line();
  }
  if (out->empty()) return Status::InvalidArgument(name + ": no data rows after the header");
  return Status::OK();
}

// Typical step of a series: the median difference of its timestamps (robust to a few gaps).
TimestampNs MedianStep(const std::vector<TimestampNs>& ts) {
  std::vector<TimestampNs> d;
  for (size_t i = 1; i < ts.size(); ++i) d.push_back(ts[i] - ts[i - 1]);
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

void AppendJsonNumber(std::string* out, double v) {
  if (std::isfinite(v)) {
    AppendDouble(v, out, 10);
  } else {
    out->append("null");
  }
}

int RunForecast(const ForecastArgs& args) {
  if (args.tte) {
    if (!std::isfinite(args.limit)) {
      PrintError("--tte needs a finite --limit");
      return kExitUsage;
    }
    return RunTteReplay({args.file, args.output, args.limit, args.interval});
  }
  if (args.horizon < 1) {
    PrintError("--horizon N is required (or --tte with --limit L)");
    return kExitUsage;
  }
  if (!args.plot.empty() && outputs::PlotFormatOf(args.plot) == outputs::PlotFormat::kUnknown) {
    PrintError("--plot '" + args.plot + "': unknown file type (use .png, .svg or .html)");
    return kExitUsage;
  }
  std::string text;
  std::string name = args.file;
  if (args.file == "-") {
    name = "<stdin>";
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (Status s = ReadFileToString(args.file, &text); !s.ok()) {
    PrintError(s.message());
    return kExitIoError;
  }
  bool long_layout = false;
  std::vector<InputSeries> series;
  if (Status s = ReadSeries(name, text, &long_layout, &series); !s.ok()) {
    PrintError(s.message());
    return kExitBadInput;
  }
  forecast::AutoForecastOptions opt;
  opt.coverage = args.coverage;
  const bool jsonl = args.format == "jsonl";
  std::string out;
  if (!jsonl)
    out += long_layout ? "series,timestamp,yhat,yhat_lower,yhat_upper\n"
                       : "timestamp,yhat,yhat_lower,yhat_upper\n";
  std::vector<std::unique_ptr<outputs::PlotSeries>> plots;
  std::vector<forecast::ForecastPoint> f(args.horizon);
  for (const InputSeries& s : series) {
    if (s.values.size() < 2) {
      PrintError(name + ":" + std::to_string(s.last_line) + ": series" +
                 (long_layout ? " '" + s.name + "'" : std::string()) +
                 " has one row: at least two are needed for its time step");
      return kExitBadInput;
    }
    forecast::AutoForecaster model(opt);
    if (Status st = model.Fit(s.values, args.horizon); !st.ok()) {
      PrintError(name + ": series '" + s.name + "': " + st.message());
      return kExitBadInput;
    }
    model.Forecast(f);
    const TimestampNs step = MedianStep(s.ts);
    std::string csv_prefix, json_prefix = "{";
    if (long_layout) {
      AppendCsvField(s.name, &csv_prefix);
      csv_prefix += ',';
      json_prefix +=
          "\"series\":" +
          nlohmann::json(s.name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
          ",";
    }
    for (int k = 0; k < args.horizon; ++k) {
      const TimestampNs ts = s.ts.back() + (k + 1) * step;
      if (jsonl) {
        out += json_prefix;
        out += "\"timestamp\":\"";
        AppendTimestamp(&out, ts);
        out += "\",\"yhat\":";
        AppendJsonNumber(&out, f[k].yhat);
        out += ",\"yhat_lower\":";
        AppendJsonNumber(&out, f[k].lower);
        out += ",\"yhat_upper\":";
        AppendJsonNumber(&out, f[k].upper);
        out += "}\n";
      } else {
        out += csv_prefix;
        AppendTimestamp(&out, ts);
        for (double v : {f[k].yhat, f[k].lower, f[k].upper}) {
          out += ',';
          AppendDouble(v, &out, 10);
        }
        out += '\n';
      }
    }
    if (!args.quiet) {
      std::fprintf(stderr, "backsight forecast: %s%s%s: %zu rows, step %s s, %d steps; model %s\n",
                   name.c_str(), long_layout ? " series " : "", s.name.c_str(), s.values.size(),
                   FormatDouble(static_cast<double>(step) / 1e9).c_str(), args.horizon,
                   model.Describe().c_str());
    }
    if (!args.plot.empty()) {
      auto p = std::make_unique<outputs::PlotSeries>(long_layout ? s.name : name);
      const double nan = std::nan("");
      for (size_t i = 0; i < s.ts.size(); ++i) p->Add(s.ts[i], s.values[i], nan, nan, 0, false);
      for (int k = 0; k < args.horizon; ++k) {
        p->Add(s.ts.back() + (k + 1) * step, f[k].yhat, f[k].lower, f[k].upper, 0, false);
      }
      p->set_subtitle("history " + std::to_string(s.values.size()) + " rows, forecast from " +
                      FormatTimestamp(s.ts.back() + step) + ", " + std::to_string(args.horizon) +
                      " steps with its " + FormatDouble(100 * args.coverage) + " % band");
      plots.push_back(std::move(p));
    }
  }
  if (args.output == "-") {
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
      PrintError("cannot write <stdout>: write error");
      return kExitIoError;
    }
  } else if (Status s = WriteFileAtomically(args.output, out); !s.ok()) {
    PrintError(s.message());
    return kExitIoError;
  }
  if (!plots.empty()) {
    std::vector<const outputs::PlotSeries*> panels;
    for (const auto& p : plots) panels.push_back(p.get());
    outputs::PlotOptions po;
    po.score_height_px = 0;
    po.title = "Backsight forecast";
    if (Status s = outputs::WritePlot(panels, po, args.plot); !s.ok()) {
      PrintError(s.message());
      return kExitIoError;
    }
  }
  return kExitOk;
}

constexpr const char* kFooter = R"(
Input: CSV with a header, either one series 'timestamp,value' or many in the long layout
'series,timestamp,value' (rows of a series in time order; series may interleave). Columns are
found by name (timestamp/time/ts/datetime/date, value, series; case-insensitive), else by
position. Timestamps: ISO-8601/RFC 3339 or epoch seconds/ms/us/ns. FILE '-' reads stdin.
A row with a bad timestamp or a value that is not a finite number, a wrong field count, or a
timestamp not after the previous one of its series is an error: 'file:line: reason', exit 3.

Each series gets its own model, chosen from its own data: periods found by autocorrelation
(e.g. daily and weekly), exponential smoothing with level, damped or Theta trend, on the values
or their logarithm, the median of the 7 best candidates on a holdout of the last N rows.
Samples are taken as equally spaced; forecast timestamps continue from the last one by the
median step.

Output (-o, default stdout), N rows per series, timestamps 'YYYY-MM-DD HH:MM:SS' (UTC):
  csv    [series,]timestamp,yhat,yhat_lower,yhat_upper
  jsonl  {["series",]"timestamp","yhat","yhat_lower","yhat_upper"}
The band is the central prediction interval of --coverage (default 0.95). --plot draws the
history and the forecast band (.png, .svg or .html). A line per series on stderr names the
model (unless --quiet).

--tte --limit L instead: a causal time-to-exhaustion replay of one 'timestamp,value' series;
each output row 'timestamp,value,tte_seconds' holds the seconds until the series is predicted to
reach L, from that row and the ones before it (empty: none foreseen within 14 days).

Exit codes: 0 ok; 2 usage error; 3 bad input data (file:line printed); 4 I/O error.)";

}  // namespace

void RegisterForecast(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ForecastArgs>();
  CLI::App* cmd = app.add_subcommand(
      "forecast", "Forecast series (CSV timestamp,value or series,timestamp,value) with intervals");
  cmd->add_option("FILE", args->file, "Input CSV file ('-': stdin)")->required();
  cmd->add_option("--horizon", args->horizon, "Steps to forecast after each series' last row")
      ->check(CLI::Range(1, kMaxHorizon));
  cmd->add_option("-o,--output", args->output, "Output file ('-': stdout)")->default_str("-");
  cmd->add_option("--format", args->format, "Output format: csv or jsonl")
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->default_str("csv");
  cmd->add_option("--plot", args->plot, "Also draw a plot: FILE.png, FILE.svg or FILE.html");
  cmd->add_option("--coverage", args->coverage, "Coverage of the prediction interval")
      ->check(CLI::Range(0.5, 0.999))
      ->default_str("0.95");
  cmd->add_flag("-q,--quiet", args->quiet, "No per-series model line on stderr");
  cmd->add_flag("--tte", args->tte,
                "Time-to-exhaustion replay instead of a forecast (needs --limit): "
                "timestamp,value,tte_seconds per row, from that row and the ones before it");
  cmd->add_option("--limit", args->limit, "Capacity in the value's unit (exhausted at >= L)");
  cmd->add_flag("--interval", args->interval,
                "With --tte: add tte_low_seconds,tte_high_seconds (the crossing at the upper / "
                "lower quartile of the recent growth rates; empty high: beyond 14 days)");
  cmd->footer(kFooter);
  cmd->callback([args, exit_code] { *exit_code = RunForecast(*args); });
}

}  // namespace backsight::cli
