// The log pipeline: header layout -> masker -> template miner -> anomaly scores, one record at a
// time in arrival order. `backsight logs` runs it over files; the server runs the same code over
// pushed log entries, so both report the same templates, ids and scores for the same input.
//
// Per raw line (AddLine):
//   1. Multiline (MultilineMode::kIndent): a line that starts with a space or tab, `at `,
//      `Caused by:` or `...` continues the previous record (Java/Python stack traces). It is
//      counted and joins that record; the record's template and scores come from its first line,
//      so a record is complete, and reported, at its first line.
//   2. The header layout splits the line into fields and Content (header.h). A line that does not
//      match is kept: it is counted as unmatched and its whole text is the Content.
//   3. Time: the header's timestamp (ExtractTimestamp) when it parses, else the last one seen;
//      before any timestamp, record number N is at N seconds since the epoch.
//   4. The miner (miner.h) gives the template; the scorer (log_anomaly.h) scores the line and
//      closes time buckets, which may report template rate anomalies.
// Finish() closes the open buckets at end of input; the bucket cut by the end is partial and is
// reported only as a surge (log_anomaly.h). SaveState/RestoreState cover the miner, the scorer and
// the pipeline's own counters, so a restored pipeline continues bit-identically.
#ifndef BACKSIGHT_LOGS_PIPELINE_H_
#define BACKSIGHT_LOGS_PIPELINE_H_

#include <climits>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/logs/header.h"
#include "backsight/logs/log_anomaly.h"
#include "backsight/logs/miner.h"

namespace backsight::logs {

/// How continuation lines are recognised.
enum class MultilineMode {
  kNone,    ///< Every line is a record.
  kIndent,  ///< Lines starting with whitespace, `at `, `Caused by:` or `...` join the previous.
};

/// True when `line` continues the previous record under MultilineMode::kIndent.
bool IsContinuationLine(std::string_view line);

/// Compiles a header spec: a Loghub log_format layout when it contains `<`, else a preset name
/// (HeaderLayout::Parse / HeaderLayout::Preset; their InvalidArgument on a bad spec).
Status ParseHeaderSpec(std::string_view spec, HeaderLayout* out);

/// Options; the defaults are `backsight logs` without options.
struct LogPipelineOptions {
  LogPipelineOptions();
  HeaderLayout layout;  ///< Header layout of raw lines (default: the `raw` preset).
  MultilineMode multiline = MultilineMode::kIndent;
  MinerOptions miner;
  LogAnomalyOptions anomaly;  ///< bucket_ns is the rate time bucket.
};

/// One structured entry, as a server receives it (Loki push, OTLP logs): no header to parse.
struct LogEntry {
  TimestampNs ts = 0;        ///< ns since the epoch.
  std::string_view message;  ///< The message (mined as the Content).
  std::string_view level;    ///< Severity text ("error", "WARN", ...), "" when unknown.
};

/// Everything known about one record once it is mined and scored. Views are valid until the next
/// call on the pipeline.
struct LogRecord {
  uint64_t line_no = 0;        ///< 1-based number of the record's first line among all lines given.
  uint64_t record_no = 0;      ///< 1-based record number.
  std::string_view line;       ///< The first line as given (for an entry: its message).
  bool header_matched = true;  ///< False: the line did not match the layout (Content = line).
  /// Header field values in layout order (empty for an entry); unmatched lines have all fields
  /// empty except Content.
  std::span<const std::string_view> fields;
  std::string_view content;  ///< The message that was mined.
  TimestampNs ts = 0;        ///< The time the record was scored at (see the file comment).
  int level_class = 0;       ///< LevelClass() of the level field: 0 other, 1 warning, 2 error.
  ParseResult parse;         ///< Template id; created / refined / evicted notices.
  LineScores scores;         ///< The record's anomaly scores (score > 1: anomalous).
  /// Template rate anomalies reported while scoring this record (buckets it closed).
  std::span<const TemplateRateEvent> rate_events;
};

/// Counters since creation (part of the saved state).
struct LogPipelineStats {
  uint64_t lines = 0;          ///< Raw lines and entries given.
  uint64_t records = 0;        ///< Records mined.
  uint64_t continuations = 0;  ///< Lines joined to the previous record.
  uint64_t unmatched = 0;      ///< Lines that did not match the header layout.
  uint64_t anomalous = 0;      ///< Records with score > 1.
};

/// Streaming log pipeline. Not thread-safe; one per log stream. AddLine allocates only when the
/// miner or the scorer does (a new template, a refinement, a new bucket's history).
class LogPipeline {
 public:
  explicit LogPipeline(const LogPipelineOptions& options = {});

  /// `AddLine`'s clock_ns when there is none: records before any timestamp are at their number.
  static constexpr TimestampNs kNoClock = INT64_MIN;
  /// Takes the next raw line (without its newline). Returns true and fills `*record` when the
  /// line starts a record; returns false for a continuation line (counted, joined to the previous
  /// record, `*record` untouched). While no line has had a timestamp, a record is at `clock_ns`
  /// (ns since the epoch; a server passes the time it read the line) instead of record number N
  /// at N seconds (`backsight logs`). Template ids do not depend on it.
  bool AddLine(std::string_view line, LogRecord* record, TimestampNs clock_ns = kNoClock);

  /// Takes one structured entry; it is always one record. Its timestamp is used as given.
  void AddEntry(const LogEntry& entry, LogRecord* record);

  /// Closes the open time buckets at end of input (the last one scored as partial) and returns
  /// the rate anomalies this reports. Call once, after the last line.
  std::span<const TemplateRateEvent> Finish();

  const LogPipelineStats& stats() const { return stats_; }
  const HeaderLayout& layout() const { return options_.layout; }
  const TemplateMiner& miner() const { return miner_; }
  const LogAnomalyScorer& scorer() const { return scorer_; }
  /// The template with this id as it is now (text, count, ...), or nullptr when evicted; for a
  /// record just returned, its template after that record. Valid until the next call. (A lookup,
  /// kept off the per-line path.)
  const LogTemplate* Template(uint32_t id) const { return miner_.Find(id); }
  /// Whether any record has had a timestamp (else times are record numbers in seconds).
  bool have_time() const { return have_time_; }

  /// Appends the complete state (counters, clock, miner, scorer) to `*out`.
  void SaveState(std::string* out) const;
  /// Replaces the state by one produced by SaveState (the layout and multiline mode stay those
  /// of this pipeline's options). Returns Corruption naming the part and byte offset on
  /// truncated, foreign or inconsistent bytes; then the pipeline is unchanged.
  Status RestoreState(std::string_view in);

  /// The miner's state alone (the `backsight logs --state-out` file), and its restore
  /// (`--state-in`: templates and ids continue, scores start afresh). RestoreMinerState returns
  /// the miner's Corruption.
  void SaveMinerState(std::string* out) const { miner_.SaveState(out); }
  Status RestoreMinerState(std::string_view in) { return miner_.RestoreState(in); }

 private:
  // Mines `content` and scores it at ts_; fills the common part of `*record`.
  void Process(std::string_view content, int level_class, LogRecord* record);

  LogPipelineOptions options_;
  TemplateMiner miner_;
  LogAnomalyScorer scorer_;
  LogPipelineStats stats_;
  TimestampNs ts_ = 0;  // time of the latest record
  bool have_time_ = false;
  HeaderFields fields_;  // scratch, reused across lines
};

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_PIPELINE_H_
