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

// Reads lines from a plain or gzip file, or stdin for "-". Gzip (RFC 1952, recognised by its
// magic bytes 1f 8b; concatenated members are read in turn, trailing zero padding is ignored) is
// inflated with zlib's inflate(); a corrupt or truncated stream is an error naming the compressed
// byte offset where zlib stopped, e.g. "app.log.gz: byte offset 4096: invalid block type" or
// "...: truncated: gzip stream ended before its trailer". After an error the partial line that
// was being read is dropped (it would be cut at an arbitrary byte).
class LineReader {
 public:
  ~LineReader() {
    if (zinit_) inflateEnd(&zs_);
    if (f_ != nullptr) std::fclose(f_);
  }
  Status Open(const std::string& path) {
    name_ = path == "-" ? "<stdin>" : path;
    if (path == "-") {
      int fd = dup(STDIN_FILENO);
      f_ = fd < 0 ? nullptr : fdopen(fd, "rb");
    } else {
      f_ = std::fopen(path.c_str(), "rb");
    }
    if (f_ == nullptr) return Status::IoError(name_ + ": cannot open: " + std::strerror(errno));
    struct stat sb;
    if (fstat(fileno(f_), &sb) == 0 && S_ISDIR(sb.st_mode)) {
      return Status::IoError(name_ + ": is a directory (a log file is expected)");
    }
    // Sniff the format from the first bytes.
    if (!Refill()) return status_;
    gzip_ = raw_len_ >= 2 && static_cast<unsigned char>(raw_[0]) == kGzipMagic0 &&
            static_cast<unsigned char>(raw_[1]) == kGzipMagic1;
    if (gzip_) {
      std::memset(&zs_, 0, sizeof zs_);
      if (inflateInit2(&zs_, kGzipWindowBits) != Z_OK) {
        return Status::IoError(name_ + ": zlib initialisation failed");
      }
      zinit_ = true;
      zs_.next_in = reinterpret_cast<Bytef*>(raw_);
      zs_.avail_in = static_cast<uInt>(raw_len_);
      raw_pos_ = raw_len_;
    }
    return Status::OK();
  }
  // Next line without its '\n' (and '\r'); false at end of input or on error (see status()).
  bool Next(std::string* line) {
    line->clear();
    while (true) {
      if (pos_ >= len_) {
        size_t n = Read(buf_, sizeof(buf_));
        if (!status_.ok()) return false;
        if (n == 0) {
          if (line->empty() && !partial_) return false;
          partial_ = false;
          return true;
        }
        len_ = n;
        pos_ = 0;
      }
      const char* start = buf_ + pos_;
      const void* nl = memchr(start, '\n', len_ - pos_);
      const size_t room = line->size() < kMaxLineBytes ? kMaxLineBytes - line->size() : 0;
      if (nl == nullptr) {
        line->append(start, std::min(room, len_ - pos_));  // the rest of a huge line is dropped
        partial_ = true;
        pos_ = len_;
        continue;
      }
      size_t k = static_cast<const char*>(nl) - start;
      if (k > room) ++truncated_;
      line->append(start, std::min(room, k));
      pos_ += k + 1;
      partial_ = false;
      if (!line->empty() && line->back() == '\r') line->pop_back();
      return true;
    }
  }
  /// OK, IoError (read failure) or InvalidArgument (corrupt or truncated gzip).
  const Status& status() const { return status_; }
  /// Lines longer than kMaxLineBytes (their tail was dropped).
  uint64_t truncated() const { return truncated_; }
  static constexpr size_t kMaxLineBytes = 1 << 20;

 private:
  // Gzip member header magic (RFC 1952 section 2.3.1) and zlib's windowBits for "gzip only".
  static constexpr unsigned char kGzipMagic0 = 0x1f, kGzipMagic1 = 0x8b;
  static constexpr int kGzipWindowBits = 16 + MAX_WBITS;

  // Reads the next raw chunk into raw_; false (status_ set) on a read error. At end of file
  // sets raw_eof_ and raw_len_ = 0.
  bool Refill() {
    raw_len_ = std::fread(raw_, 1, sizeof(raw_), f_);
    raw_pos_ = 0;
    raw_offset_ += raw_len_;
    if (raw_len_ == 0) {
      if (std::ferror(f_)) {
        status_ = Status::IoError(name_ + ": read error at byte offset " +
                                  std::to_string(raw_offset_) + ": " + std::strerror(errno));
        return false;
      }
      raw_eof_ = true;
    }
    return true;
  }
  Status GzipError(uint64_t offset, const std::string& why) const {
    return Status::InvalidArgument(name_ + ": byte offset " + std::to_string(offset) + ": " + why);
  }
  // Up to `cap` decoded bytes into dst; 0 at end of input or on error (status_ set).
  size_t Read(char* dst, size_t cap) {
    if (!gzip_) {
      if (raw_pos_ >= raw_len_ && !raw_eof_ && !Refill()) return 0;
      size_t n = std::min(cap, raw_len_ - raw_pos_);
      std::memcpy(dst, raw_ + raw_pos_, n);
      raw_pos_ += n;
      return n;
    }
    if (!pending_.ok()) {
      status_ = pending_;
      return 0;
    }
    while (true) {
      if (zs_.avail_in == 0 && !raw_eof_) {
        if (!Refill()) return 0;
        zs_.next_in = reinterpret_cast<Bytef*>(raw_);
        zs_.avail_in = static_cast<uInt>(raw_len_);
      }
      const uint64_t consumed = raw_offset_ - zs_.avail_in;  // compressed bytes used so far
      if (!in_member_) {
        // Between members: more members, zero padding, or the end.
        while (zs_.avail_in > 0 && *zs_.next_in == 0) {
          ++zs_.next_in;
          --zs_.avail_in;
        }
        if (zs_.avail_in == 0) {
          if (raw_eof_) return 0;
          continue;
        }
        if (*zs_.next_in != kGzipMagic0) {
          status_ = GzipError(consumed, "unexpected data after the end of the gzip stream");
          return 0;
        }
        inflateReset(&zs_);
        in_member_ = true;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(dst);
      zs_.avail_out = static_cast<uInt>(cap);
      const int ret = inflate(&zs_, Z_NO_FLUSH);
      const size_t produced = cap - zs_.avail_out;
      if (ret == Z_STREAM_END) {
        in_member_ = false;
      } else if (ret == Z_BUF_ERROR || (ret == Z_OK && produced == 0)) {
        if (zs_.avail_in == 0 && raw_eof_) {
          status_ = GzipError(raw_offset_, "truncated: gzip stream ended before its trailer");
          return 0;
        }
      } else if (ret != Z_OK) {
        // Bytes decoded in this call are still delivered; the error comes with the next call.
        pending_ = GzipError(raw_offset_ - zs_.avail_in,
                             zs_.msg != nullptr ? zs_.msg : "corrupt gzip data");
        if (produced == 0) status_ = pending_;
        return produced;
      }
      if (produced > 0) return produced;
    }
  }

  std::FILE* f_ = nullptr;
  std::string name_;
  bool gzip_ = false;
  z_stream zs_;
  bool zinit_ = false;
  bool in_member_ = true;
  char raw_[1 << 17];  // compressed (or plain) bytes as read
  size_t raw_len_ = 0, raw_pos_ = 0;
  uint64_t raw_offset_ = 0;  // bytes read from the file so far
  bool raw_eof_ = false;
  char buf_[1 << 16];  // decoded bytes
  size_t pos_ = 0, len_ = 0;
  bool partial_ = false;
  uint64_t truncated_ = 0;
  Status pending_;  // a gzip error found while decoding bytes not yet delivered
  Status status_;
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
