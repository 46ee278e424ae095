// `backsight logs [FILE...]`: online log template mining and log anomalies over files or stdin.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backsight/cli/commands.h"
#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"
#include "backsight/core/line_reader.h"
#include "backsight/logs/header.h"
#include "backsight/logs/log_anomaly.h"
#include "backsight/logs/miner.h"
#include "backsight/logs/parse_eval.h"
#include "backsight/logs/pipeline.h"

namespace backsight::cli {
namespace {

using namespace backsight::logs;

struct LogsArgs {
  std::vector<std::string> files;
  std::string header = "raw";
  std::string format = "text";
  std::string structured;
  std::string multiline = "indent";
  std::string state_in, state_out;
  int top = 50;
  int max_anomalies = 20;
  double bucket_seconds = 60;
  uint32_t max_templates = MinerOptions().max_templates;
  bool fail_on_anomaly = false;
  bool progress = false;
  bool quiet = false;
};

struct AnomalyLine {
  uint64_t line_no;
  uint32_t template_id;
  LineScores scores;
  std::string text;
};

struct StructuredRow {
  std::vector<std::string> fields;
  uint32_t template_id;
};

std::string PyList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += '\'';
    for (char c : v[i]) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out + "]";
}

int Run(const LogsArgs& args) {
  signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes a write error, handled below
  LogPipelineOptions popts;
  Status st = ParseHeaderSpec(args.header, &popts.layout);
  if (!st.ok()) {
    std::fprintf(stderr, "backsight logs: --header: %s\n", st.message().c_str());
    return kExitUsage;
  }
  if (args.format != "text" && args.format != "json") {
    std::fprintf(stderr, "backsight logs: --format must be text or json\n");
    return kExitUsage;
  }
  if (args.multiline != "indent" && args.multiline != "none") {
    std::fprintf(stderr, "backsight logs: --multiline must be indent or none\n");
    return kExitUsage;
  }
  popts.multiline = args.multiline == "indent" ? MultilineMode::kIndent : MultilineMode::kNone;
  popts.miner.max_templates = std::max<uint32_t>(1, args.max_templates);
  // An invalid bucket is refused below, after --state-in is checked (the order of the messages).
  popts.anomaly.bucket_ns = static_cast<int64_t>(args.bucket_seconds * 1e9);
  LogPipeline pipeline(popts);
  if (!args.state_in.empty()) {
    std::string all;
    st = ReadFileToString(args.state_in, &all);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight logs: --state-in: %s\n", st.message().c_str());
      return kExitIoError;
    }
    st = pipeline.RestoreMinerState(all);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight logs: %s: %s\n", args.state_in.c_str(),
                   st.ToString().c_str());
      return kExitBadInput;
    }
  }
  if (popts.anomaly.bucket_ns <= 0) {
    std::fprintf(stderr, "backsight logs: --bucket must be > 0 seconds\n");
    return kExitUsage;
  }
  const HeaderLayout& layout = pipeline.layout();

  const bool show_progress = args.progress || (!args.quiet && isatty(STDERR_FILENO));
  const auto t0 = std::chrono::steady_clock::now();
  auto last_progress = t0;
  bool progress_shown = false;

  std::vector<std::string> files = args.files;
  if (files.empty()) files.push_back("-");
  uint64_t truncated = 0;
  std::vector<AnomalyLine> anomalies;
  std::vector<StructuredRow> rows;
  const bool structured = !args.structured.empty();
  std::string line;
  LogRecord rec;
  Status read_error;
  for (const std::string& path : files) {
    LineReader reader;
    st = reader.Open(path);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight logs: %s\n", st.message().c_str());
      return kExitIoError;
    }
    while (reader.Next(&line)) {
      const bool is_record = pipeline.AddLine(line, &rec);
      const uint64_t lines = pipeline.stats().lines;
      if (show_progress && (lines & 0xFFFF) == 0) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_progress > std::chrono::milliseconds(500)) {
          double secs = std::chrono::duration<double>(now - t0).count();
          std::fprintf(stderr, "\r%llu lines, %.0f lines/s ",
                       static_cast<unsigned long long>(lines), lines / secs);
          last_progress = now;
          progress_shown = true;
        }
      }
      if (!is_record) continue;
      if (rec.scores.is_anomaly && static_cast<int>(anomalies.size()) < args.max_anomalies) {
        anomalies.push_back({rec.line_no, rec.parse.template_id, rec.scores, line});
      }
      if (structured) {
        StructuredRow row;
        row.fields.assign(rec.fields.begin(), rec.fields.end());
        row.template_id = rec.parse.template_id;
        rows.push_back(std::move(row));
      }
    }
    truncated += reader.truncated();
    if (!reader.status().ok()) {
      // Report what was read, then the error (below); later files are not read.
      read_error = reader.status();
      break;
    }
  }
  pipeline.Finish();
  const TemplateMiner& miner = pipeline.miner();
  const LogAnomalyScorer& scorer = pipeline.scorer();
  const LogPipelineStats& counts = pipeline.stats();
  const uint64_t lines = counts.lines, records = counts.records;
  const uint64_t continuations = counts.continuations, unmatched = counts.unmatched;
  const uint64_t anomalous = counts.anomalous;
  const bool have_time = pipeline.have_time();
  const int64_t bucket_ns = scorer.options().bucket_ns;
  if (progress_shown) std::fprintf(stderr, "\r\033[K");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (structured) {
    FILE* f = std::fopen(args.structured.c_str(), "wb");
    if (f == nullptr) {
      std::fprintf(stderr, "backsight logs: %s: cannot write\n", args.structured.c_str());
      return kExitIoError;
    }
    std::string out = "LineId";
    for (const std::string& n : layout.fields()) out += "," + n;
    out += ",EventId,EventTemplate,ParameterList\n";
    std::vector<std::string> params;
    for (size_t i = 0; i < rows.size(); ++i) {
      out += std::to_string(i + 1);
      for (const std::string& v : rows[i].fields) {
        out += ',';
        AppendCsvField(v, &out);
      }
      const LogTemplate* t = miner.Find(rows[i].template_id);
      std::string text = t ? t->text : std::string();
      out += ",E" + std::to_string(rows[i].template_id) + ",";
      AppendCsvField(text, &out);
      out += ',';
      ExtractParameters(text, rows[i].fields[layout.content_index()], &params);
      AppendCsvField(PyList(params), &out);
      out += '\n';
      if (out.size() > (1 << 20)) {
        std::fwrite(out.data(), 1, out.size(), f);
        out.clear();
      }
    }
    std::fwrite(out.data(), 1, out.size(), f);
    if (std::fclose(f) != 0) {
      std::fprintf(stderr, "backsight logs: %s: write failed\n", args.structured.c_str());
      return kExitIoError;
    }
  }

  std::vector<const LogTemplate*> ts_sorted = miner.Templates();
  std::stable_sort(ts_sorted.begin(), ts_sorted.end(),
                   [](const LogTemplate* a, const LogTemplate* b) { return a->count > b->count; });
  size_t shown = args.top <= 0 ? ts_sorted.size()
                               : std::min<size_t>(ts_sorted.size(), static_cast<size_t>(args.top));
  std::string out;
  if (args.format == "json") {
    nlohmann::json j;
    j["lines"] = lines;
    j["records"] = records;
    j["continuation_lines"] = continuations;
    j["unmatched_header_lines"] = unmatched;
    j["truncated_lines"] = truncated;
    j["templates_total"] = ts_sorted.size();
    j["refinements"] = miner.stats().refinements;
    j["evictions"] = miner.stats().evictions;
    j["seconds"] = secs;
    j["templates"] = nlohmann::json::array();
    for (size_t i = 0; i < shown; ++i) {
      const LogTemplate* t = ts_sorted[i];
      const TemplateActivity* a = scorer.Activity(t->id);
      nlohmann::json e{{"id", t->id},
                       {"template", t->text},
                       {"count", t->count},
                       {"first_line", t->first_line + 1},
                       {"example", t->example}};
      e["refinements"] = t->refinements;
      if (a != nullptr) {
        if (have_time) e["first_seen"] = FormatRfc3339(a->first_seen_ns);
        // Counts per time bucket: the latest closed buckets plus the open one.
        nlohmann::json buckets = nlohmann::json::array();
        auto add = [&](int64_t b, uint64_t c) {
          if (c == 0) return;
          buckets.push_back({{"start", have_time ? nlohmann::json(FormatRfc3339(b * bucket_ns))
                                                 : nlohmann::json(b * bucket_ns / kNanosPerSecond)},
                             {"count", c}});
        };
        for (const auto& [b, c] : a->recent) add(b, c);
        add(a->last_bucket, a->bucket_count);
        e["buckets"] = std::move(buckets);
      }
      j["templates"].push_back(std::move(e));
    }
    j["anomalous_lines"] = anomalous;
    j["anomalies"] = nlohmann::json::array();
    for (const AnomalyLine& a : anomalies) {
      j["anomalies"].push_back({{"line", a.line_no},
                                {"template_id", a.template_id},
                                {"score", a.scores.score},
                                {"reason", a.scores.reason},
                                {"scores",
                                 {{"new", a.scores.new_score},
                                  {"rare", a.scores.rare_score},
                                  {"rate", a.scores.rate_score},
                                  {"level", a.scores.level_score}}},
                                {"text", a.text}});
    }
    j["rate_events"] = nlohmann::json::array();
    for (const TemplateRateEvent& e : scorer.rate_events()) {
      j["rate_events"].push_back({{"template_id", e.template_id},
                                  {"bucket_start", FormatRfc3339(e.bucket_start_ns)},
                                  {"count", e.count},
                                  {"anomaly_score", e.anomaly_score}});
    }
    out = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  } else {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "%llu lines (%llu continuation, %llu not matching the header, %llu truncated "
                  "at 1 MiB) -> %zu templates in %.2f s\n\n",
                  static_cast<unsigned long long>(lines),
                  static_cast<unsigned long long>(continuations),
                  static_cast<unsigned long long>(unmatched),
                  static_cast<unsigned long long>(truncated), ts_sorted.size(), secs);
    out += buf;
    out += "   COUNT  ID      TEMPLATE\n";
    for (size_t i = 0; i < shown; ++i) {
      const LogTemplate* t = ts_sorted[i];
      std::snprintf(buf, sizeof(buf), "%8llu  E%-6u ", static_cast<unsigned long long>(t->count),
                    t->id);
      out += buf;
      out += t->text;
      out += "\n                  e.g. ";
      out += t->example;
      out += '\n';
    }
    if (shown < ts_sorted.size()) {
      out += "   ... " + std::to_string(ts_sorted.size() - shown) + " more (--top 0 shows all)\n";
    }
    std::snprintf(buf, sizeof(buf), "\nanomalous lines (score > 1): %llu\n",
                  static_cast<unsigned long long>(anomalous));
    out += buf;
    for (const AnomalyLine& a : anomalies) {
      std::snprintf(buf, sizeof(buf), "  line %-8llu %-5s %5.2f  E%-6u ",
                    static_cast<unsigned long long>(a.line_no), a.scores.reason, a.scores.score,
                    a.template_id);
      out += buf;
      // The text view shows at most 200 bytes of a line (JSON output keeps it whole).
      constexpr size_t kShown = 200;
      if (a.text.size() > kShown) {
        out.append(a.text, 0, kShown);
        out += " ...";
      } else {
        out += a.text;
      }
      out += '\n';
    }
    if (!scorer.rate_events().empty()) {
      out += "\ntemplate rate anomalies (per-template count series, metric detector):\n";
      for (const TemplateRateEvent& e : scorer.rate_events()) {
        std::snprintf(buf, sizeof(buf), "  E%-6u %s  count %llu  score %.2f\n", e.template_id,
                      FormatRfc3339(e.bucket_start_ns).c_str(),
                      static_cast<unsigned long long>(e.count), e.anomaly_score);
        out += buf;
      }
    }
  }
  const bool written =
      std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0;
  if (!read_error.ok()) {
    std::fprintf(stderr, "backsight logs: error: %s\n", read_error.message().c_str());
    return read_error.code() == Status::Code::kIoError ? kExitIoError : kExitBadInput;
  }
  if (!written) return kExitOk;  // stdout closed (e.g. piped into head): stop quietly
  if (!args.state_out.empty()) {
    std::string state;
    pipeline.SaveMinerState(&state);
    // Written to a temporary file and renamed: a crash never leaves a truncated state behind.
    const Status st = WriteFileAtomically(args.state_out, state);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight logs: %s\n", st.message().c_str());
      return kExitIoError;
    }
  }
  return args.fail_on_anomaly && anomalous > 0 ? kExitAnomalies : kExitOk;
}

constexpr const char* kFooter = R"(
Input: plain or gzip files (gzip is recognised by its magic bytes; concatenated members are read
in turn), or stdin. Every file continues the same miner and scorer.

Output (stdout): the templates by count, the anomalous lines and the template rate anomalies
(text), or the same as one JSON object (--format json). A rate anomaly is a time bucket in which
a template's count departs from its own normal; the bucket in which the input ends is partial and
is reported only when its count already exceeds a whole bucket's expected count.

Exit codes: 0 ok; 1 anomalous lines found (only with --fail-on-anomaly); 2 usage error;
3 bad input data: a truncated or corrupt gzip stream ('file: byte offset N: reason', N the
compressed byte offset where zlib stopped; what was read before is reported first and the cut
line is dropped) or a bad --state-in file; 4 I/O error (cannot open or read a file, a directory
given as a file, cannot write --structured or --state-out). --state-out is not written after an
error.)";

}  // namespace

void RegisterLogs(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<LogsArgs>();
  auto* cmd = app.add_subcommand(
      "logs",
      "Mine log templates online (Drain family) and report new, rare and surging kinds of lines");
  cmd->add_option("files", args->files, "Log files, plain or gzip ('-' or none: stdin)");
  cmd->add_option("--header", args->header,
                  "Header layout in Loghub log_format style, e.g. '<Date> <Time> <Level> "
                  "<Component>: <Content>', or a preset: raw, syslog, json")
      ->capture_default_str();
  cmd->add_option("--format", args->format, "Output format: text or json")->capture_default_str();
  cmd->add_option("--structured", args->structured,
                  "Write one CSV row per record (Loghub layout: LineId, header fields, Content, "
                  "EventId, EventTemplate, ParameterList)");
  cmd->add_option("--top", args->top, "Templates to print, by count (0: all)")
      ->capture_default_str();
  cmd->add_option("--max-anomalies", args->max_anomalies, "Anomalous lines to print")
      ->capture_default_str();
  cmd->add_option("--bucket", args->bucket_seconds, "Time bucket for rates, seconds")
      ->capture_default_str();
  cmd->add_option("--multiline", args->multiline,
                  "Continuation rule: indent (lines starting with whitespace, 'at ', 'Caused by:' "
                  "or '...' join the previous record) or none")
      ->capture_default_str();
  cmd->add_option("--max-templates", args->max_templates,
                  "Cap on templates; the least recently matched is evicted beyond it")
      ->capture_default_str();
  cmd->add_option("--state-in", args->state_in, "Restore miner state from this file first");
  cmd->add_option("--state-out", args->state_out, "Save miner state to this file at the end");
  cmd->add_flag("--fail-on-anomaly", args->fail_on_anomaly,
                "Exit with code 1 when any line is anomalous");
  cmd->add_flag("--progress", args->progress, "Show progress on stderr even when not a terminal");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress output");
  cmd->footer(kFooter);
  cmd->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace backsight::cli
