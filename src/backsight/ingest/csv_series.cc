#include "backsight/ingest/csv_series.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "backsight/core/csv.h"

namespace backsight::ingest {
namespace {

constexpr size_t kInitialBuffer = 64 * 1024;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Text of a field for an error message: at most 60 bytes, control bytes shown as '?'.
std::string Shown(std::string_view s) {
  std::string out;
  const size_t n = std::min<size_t>(s.size(), 60);
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (s.size() > n) out += "...";
  return out;
}

// Parses a value field. Returns false if it is not a number and not a missing-value marker.
bool ParseValue(std::string_view s, double* out) {
  s = Trim(s);
  if (s.empty() || EqualsIgnoreCase(s, "null") || EqualsIgnoreCase(s, "na") ||
      EqualsIgnoreCase(s, "n/a")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-' || s.front() == '+') return false;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (p != s.data() + s.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // Overflow gives +-inf semantics; underflow gives 0. from_chars leaves v unchanged, so decide
    // by the exponent sign with strtod on a bounded copy.
    std::string copy(s);
    v = std::strtod(copy.c_str(), nullptr);
  } else if (ec != std::errc()) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

CsvSeriesReader::~CsvSeriesReader() {
  if (owns_file_ && file_ != nullptr) std::fclose(file_);
}

Status CsvSeriesReader::Open(const std::string& path, const CsvSeriesOptions& options,
                             std::unique_ptr<CsvSeriesReader>* out) {
  std::unique_ptr<CsvSeriesReader> r(new CsvSeriesReader());
  if (path == "-") {
    r->name_ = "<stdin>";
    r->file_ = stdin;
    r->owns_file_ = false;
  } else {
    r->name_ = path;
    r->file_ = std::fopen(path.c_str(), "rb");
    if (r->file_ == nullptr) {
      return Status::IoError("cannot open '" + path + "': " + std::strerror(errno));
    }
    r->owns_file_ = true;
    // fopen() succeeds on a directory and the first read fails with EISDIR: say so up front.
    struct stat sb;
    if (fstat(fileno(r->file_), &sb) == 0 && S_ISDIR(sb.st_mode)) {
      return Status::IoError("cannot open '" + path + "': is a directory (a CSV file is expected)");
    }
  }
  r->storage_.resize(kInitialBuffer);
  r->buf_ = r->storage_.data();
  BACKSIGHT_RETURN_IF_ERROR(r->Init(options));
  *out = std::move(r);
  return Status::OK();
}

Status CsvSeriesReader::FromBuffer(std::string_view data, std::string name,
                                   const CsvSeriesOptions& options,
                                   std::unique_ptr<CsvSeriesReader>* out) {
  std::unique_ptr<CsvSeriesReader> r(new CsvSeriesReader());
  r->name_ = std::move(name);
  r->buf_ = data.data();
  r->end_ = data.size();
  r->at_eof_ = true;
  BACKSIGHT_RETURN_IF_ERROR(r->Init(options));
  *out = std::move(r);
  return Status::OK();
}

Status CsvSeriesReader::Error(uint64_t line, std::string_view reason, Reason r) const {
  std::string msg;
  msg.reserve(name_.size() + reason.size() + 24);
  msg.append(name_).append(":").append(std::to_string(line)).append(": ").append(reason);
  return Status::InvalidArgument(r, std::move(msg));
}

Status CsvSeriesReader::Fill() {
  if (file_ == nullptr) {
    at_eof_ = true;
    return Status::OK();
  }
  if (pos_ > 0) {
    std::memmove(storage_.data(), storage_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == storage_.size()) {
    // A record longer than the buffer: grow (bounded by kMaxRecordBytes, checked by the caller).
    storage_.resize(storage_.size() * 2);
  }
  buf_ = storage_.data();
  const size_t n = std::fread(storage_.data() + end_, 1, storage_.size() - end_, file_);
  if (n == 0) {
    if (std::ferror(file_)) {
      return Status::IoError("cannot read '" + name_ + "': " + std::strerror(errno));
    }
    at_eof_ = true;
  }
  end_ += n;
  return Status::OK();
}

Status CsvSeriesReader::NextRecord(std::string_view* record, bool* eof) {
  for (;;) {
    const char* base = buf_ + pos_;
    const size_t avail = end_ - pos_;
    if (avail == 0 && at_eof_) {
      *eof = true;
      return Status::OK();
    }
    CsvRecordSpan span;
    const CsvScan scan = FindCsvRecord(std::string_view(base, avail), at_eof_, &span);
    if (scan == CsvScan::kUnterminated) return Error(line_, "unterminated quoted field");
    const bool complete = scan == CsvScan::kRecord;
    const size_t len = span.length, consumed = span.consumed;
    const uint64_t newlines = span.newlines;
    if (!complete) {
      if (avail > kMaxRecordBytes) {
        return Error(line_, "record longer than " + std::to_string(kMaxRecordBytes) + " bytes",
                     Reason::kTooLarge);
      }
      BACKSIGHT_RETURN_IF_ERROR(Fill());
      continue;
    }
    if (len > kMaxRecordBytes) {
      return Error(line_, "record longer than " + std::to_string(kMaxRecordBytes) + " bytes",
                   Reason::kTooLarge);
    }
    std::string_view rec(base, len);
    if (!rec.empty() && rec.back() == '\r') rec.remove_suffix(1);
    pos_ += consumed;
    consumed_total_ += consumed;
    const uint64_t rec_line = line_;
    line_ += newlines;
    if (Trim(rec).empty()) continue;  // blank line
    *record = rec;
    *eof = false;
    current_line_ = rec_line;
    return Status::OK();
  }
}

Status CsvSeriesReader::SplitRecord(std::string_view rec, size_t max_fields) {
  Status st = SplitCsvRecord(rec, max_fields, &fields_, &unquoted_);
  if (!st.ok()) return Error(current_line_, st.message());
  return Status::OK();
}

Status CsvSeriesReader::Init(const CsvSeriesOptions& options) {
  // Skip a UTF-8 byte order mark.
  if (end_ - pos_ < 3 && !at_eof_) BACKSIGHT_RETURN_IF_ERROR(Fill());
  if (end_ - pos_ >= 3 && std::memcmp(buf_ + pos_, "\xEF\xBB\xBF", 3) == 0) {
    pos_ += 3;
    consumed_total_ += 3;
  }
  std::string_view rec;
  bool eof = false;
  BACKSIGHT_RETURN_IF_ERROR(NextRecord(&rec, &eof));
  if (eof) return Error(1, "empty input: a header line (e.g. 'timestamp,value') is required");
  const uint64_t header_line = current_line_;
  BACKSIGHT_RETURN_IF_ERROR(SplitRecord(rec, std::numeric_limits<size_t>::max()));
  std::vector<std::string> names;
  names.reserve(fields_.size());
  for (std::string_view f : fields_) names.emplace_back(Trim(f));
  auto find = [&](std::string_view want) -> size_t {
    for (size_t i = 0; i < names.size(); ++i) {
      if (EqualsIgnoreCase(names[i], want)) return i;
    }
    return names.size();
  };
  auto list_columns = [&] {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) s += ", ";
      s.append(1, '\'').append(Shown(names[i])).append(1, '\'');
    }
    return s;
  };
  const size_t npos = names.size();
  size_t ts = npos, val = npos;
  if (!options.timestamp_column.empty()) {
    ts = find(options.timestamp_column);
    if (ts == npos) {
      return Error(header_line, "no column named '" + options.timestamp_column +
                                    "' in header (columns: " + list_columns() + ")");
    }
  } else {
    for (std::string_view cand : {"timestamp", "time", "ts", "datetime", "date"}) {
      ts = find(cand);
      if (ts != npos) break;
    }
    if (ts == npos && names.size() == 2) ts = 0;
    if (ts == npos) {
      return Error(header_line,
                   "no timestamp column in header (columns: " + list_columns() +
                       "); name it 'timestamp' or pick it by name (CLI: --timestamp-column)");
    }
  }
  if (!options.value_column.empty()) {
    val = find(options.value_column);
    if (val == npos) {
      return Error(header_line, "no column named '" + options.value_column +
                                    "' in header (columns: " + list_columns() + ")");
    }
  } else {
    val = find("value");
    if (val == npos && names.size() == 2) val = 1 - ts;
    if (val == npos) {
      return Error(header_line, "no value column in header (columns: " + list_columns() +
                                    "); name it 'value' or pick it by name (CLI: --value-column)");
    }
  }
  if (val == ts) {
    return Error(header_line, "timestamp and value are the same column '" + Shown(names[ts]) + "'");
  }
  // A header whose chosen fields parse as data means the header line is missing.
  TimestampNs t;
  double v;
  if (ParseTimestamp(names[ts], &t).ok() && ParseValue(names[val], &v) && !names[val].empty()) {
    return Error(header_line, "missing header: the first line looks like data ('" +
                                  Shown(names[ts]) + "', '" + Shown(names[val]) +
                                  "'); the first line must name the columns, e.g. "
                                  "'timestamp,value'");
  }
  ts_col_ = ts;
  value_col_ = val;
  need_fields_ = std::max(ts, val) + 1;
  ts_name_ = names[ts];
  value_name_ = names[val];
  fields_.reserve(need_fields_ + 1);
  return Status::OK();
}

Status CsvSeriesReader::Next(SeriesRow* row, bool* eof) {
  std::string_view rec;
  BACKSIGHT_RETURN_IF_ERROR(NextRecord(&rec, eof));
  if (*eof) return Status::OK();
  BACKSIGHT_RETURN_IF_ERROR(SplitRecord(rec, need_fields_));
  if (fields_.size() < need_fields_) {
    return Error(current_line_, "expected at least " + std::to_string(need_fields_) +
                                    " fields, found " + std::to_string(fields_.size()));
  }
  const std::string_view ts_text = Trim(fields_[ts_col_]);
  Status st = ParseTimestamp(ts_text, &row->ts);
  if (!st.ok()) {
    // ParseTimestamp says "bad timestamp '<text>': <why>"; keep the why.
    std::string_view why = st.message();
    const size_t at = why.rfind("': ");
    why = at == std::string_view::npos ? why : why.substr(at + 3);
    return Error(current_line_,
                 "bad timestamp '" + Shown(ts_text) + "' in column '" + Shown(ts_name_) +
                     "': " + std::string(why),
                 Reason::kTimestamp);
  }
  if (!ParseValue(fields_[value_col_], &row->value)) {
    return Error(current_line_, "bad value '" + Shown(Trim(fields_[value_col_])) + "' in column '" +
                                    Shown(value_name_) + "'");
  }
  row->line = current_line_;
  return Status::OK();
}

}  // namespace backsight::ingest
