#include "backsight/logs/pipeline.h"

#include "backsight/core/byte_io.h"

namespace backsight::logs {
namespace {

// Pipeline state header: "BSLP" little-endian, then the format version.
constexpr uint32_t kStateMagic = 0x504C5342;
constexpr uint32_t kStateVersion = 1;

HeaderLayout RawLayout() {
  HeaderLayout layout;
  // The `raw` preset always compiles.
  Status st = HeaderLayout::Preset("raw", &layout);
  (void)st;
  return layout;
}

}  // namespace

bool IsContinuationLine(std::string_view line) {
  if (line.empty()) return false;
  if (line[0] == ' ' || line[0] == '\t') return true;
  return line.rfind("Caused by:", 0) == 0 || line.rfind("at ", 0) == 0 || line.rfind("...", 0) == 0;
}

Status ParseHeaderSpec(std::string_view spec, HeaderLayout* out) {
  return spec.find('<') != std::string_view::npos ? HeaderLayout::Parse(spec, out)
                                                  : HeaderLayout::Preset(spec, out);
}

LogPipelineOptions::LogPipelineOptions() : layout(RawLayout()) {}

LogPipeline::LogPipeline(const LogPipelineOptions& options)
    : options_(options), miner_(options.miner), scorer_(options.anomaly) {}

bool LogPipeline::AddLine(std::string_view line, LogRecord* record, TimestampNs clock_ns) {
  ++stats_.lines;
  if (options_.multiline == MultilineMode::kIndent && stats_.records > 0 &&
      IsContinuationLine(line)) {
    ++stats_.continuations;
    return false;
  }
  ++stats_.records;
  const HeaderLayout& layout = options_.layout;
  record->header_matched = layout.Match(line, &fields_);
  if (record->header_matched) {
    int64_t t;
    if (ExtractTimestamp(layout, fields_, &t)) {
      ts_ = t;
      have_time_ = true;
    }
  } else {
    ++stats_.unmatched;
    fields_.values.assign(layout.fields().size(), std::string_view());
    fields_.values[layout.content_index()] = line;
  }
  if (!have_time_) {
    ts_ = clock_ns != kNoClock ? clock_ns : static_cast<int64_t>(stats_.records) * kNanosPerSecond;
  }
  record->line = line;
  record->fields = fields_.values;
  const int level =
      layout.level_index() >= 0 ? LevelClass(fields_.values[layout.level_index()]) : 0;
  Process(fields_.values[layout.content_index()], level, record);
  return true;
}

void LogPipeline::AddEntry(const LogEntry& entry, LogRecord* record) {
  ++stats_.lines;
  ++stats_.records;
  ts_ = entry.ts;
  have_time_ = true;
  record->line = entry.message;
  record->header_matched = true;
  record->fields = {};
  Process(entry.message, LevelClass(entry.level), record);
}

void LogPipeline::Process(std::string_view content, int level_class, LogRecord* record) {
  record->line_no = stats_.lines;
  record->record_no = stats_.records;
  record->content = content;
  record->ts = ts_;
  record->level_class = level_class;
  record->parse = miner_.Add(content);
  if (record->parse.evicted_id != 0) scorer_.Forget(record->parse.evicted_id);
  const size_t events_before = scorer_.rate_events().size();
  record->scores = scorer_.Observe(ts_, record->parse.template_id, level_class);
  if (record->scores.is_anomaly) ++stats_.anomalous;
  record->rate_events = std::span(scorer_.rate_events()).subspan(events_before);
}

std::span<const TemplateRateEvent> LogPipeline::Finish() {
  const size_t events_before = scorer_.rate_events().size();
  scorer_.Finish();
  return std::span(scorer_.rate_events()).subspan(events_before);
}

void LogPipeline::SaveState(std::string* out) const {
  ByteWriter w(out);
  w.PutU32(kStateMagic);
  w.PutU32(kStateVersion);
  w.PutU64(stats_.lines);
  w.PutU64(stats_.records);
  w.PutU64(stats_.continuations);
  w.PutU64(stats_.unmatched);
  w.PutU64(stats_.anomalous);
  w.PutI64(ts_);
  w.PutU8(have_time_ ? 1 : 0);
  std::string part;
  miner_.SaveState(&part);
  w.PutString(part);
  part.clear();
  scorer_.SaveState(&part);
  w.PutString(part);
}

Status LogPipeline::RestoreState(std::string_view in) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kStateMagic, kStateVersion, "log pipeline state"));
  LogPipelineStats stats;
  TimestampNs ts = 0;
  uint8_t have_time = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&stats.lines, "lines"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&stats.records, "records"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&stats.continuations, "continuations"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&stats.unmatched, "unmatched"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&stats.anomalous, "anomalous"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&ts, "ts"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&have_time, "have_time"));
  if (have_time > 1) return Status::Corruption("log pipeline state: bad have_time flag");
  std::string miner_state, scorer_state;
  BACKSIGHT_RETURN_IF_ERROR(r.GetString(&miner_state, "miner state"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetString(&scorer_state, "scorer state"));
  if (!r.done()) {
    return Status::Corruption("log pipeline state: trailing bytes at byte " +
                              std::to_string(r.position()));
  }
  TemplateMiner miner(options_.miner);
  LogAnomalyScorer scorer(options_.anomaly);
  BACKSIGHT_RETURN_IF_ERROR(miner.RestoreState(miner_state));
  BACKSIGHT_RETURN_IF_ERROR(scorer.RestoreState(scorer_state));
  miner_ = std::move(miner);
  scorer_ = std::move(scorer);
  stats_ = stats;
  ts_ = ts;
  have_time_ = have_time == 1;
  return Status::OK();
}

}  // namespace backsight::logs
