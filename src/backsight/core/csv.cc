#include "backsight/core/csv.h"

#include <cstring>

namespace backsight {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

}  // namespace

void AppendCsvField(std::string_view f, std::string* out) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(f);
    return;
  }
  out->push_back('"');
  for (char c : f) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

CsvScan FindCsvRecord(std::string_view data, bool at_end, CsvRecordSpan* span) {
  const void* nl = data.empty() ? nullptr : std::memchr(data.data(), '\n', data.size());
  if (nl != nullptr) {
    const size_t len = static_cast<const char*>(nl) - data.data();
    if (std::memchr(data.data(), '"', len) == nullptr) {
      *span = {len, len + 1, 1};
      return CsvScan::kRecord;
    }
  }
  // Quote-aware scan (also the path for a last line without a line end).
  bool in_quotes = false;
  uint64_t inner = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '"') {
      in_quotes = !in_quotes;
    } else if (c == '\n') {
      if (!in_quotes) {
        *span = {i, i + 1, inner + 1};
        return CsvScan::kRecord;
      }
      ++inner;
    }
  }
  if (!at_end) return CsvScan::kNeedMore;
  if (in_quotes) return CsvScan::kUnterminated;
  *span = {data.size(), data.size(), inner};
  return CsvScan::kRecord;
}

Status SplitCsvRecord(std::string_view rec, size_t max_fields,
                      std::vector<std::string_view>* fields, std::string* unquoted) {
  fields->clear();
  if (std::memchr(rec.data(), '"', rec.size()) == nullptr) {
    size_t start = 0;
    while (fields->size() < max_fields) {
      const void* comma = std::memchr(rec.data() + start, ',', rec.size() - start);
      if (comma == nullptr) {
        fields->push_back(rec.substr(start));
        break;
      }
      const size_t at = static_cast<const char*>(comma) - rec.data();
      fields->push_back(rec.substr(start, at - start));
      start = at + 1;
    }
    return Status::OK();
  }
  // Quoted fields: unescape into *unquoted, whose capacity never changes during the split, so
  // the views stay valid.
  unquoted->clear();
  unquoted->reserve(rec.size());
  size_t i = 0;
  while (fields->size() < max_fields) {
    const size_t field_start = unquoted->size();
    size_t j = i;
    while (j < rec.size() && (rec[j] == ' ' || rec[j] == '\t')) ++j;
    if (j < rec.size() && rec[j] == '"') {
      ++j;
      bool closed = false;
      while (j < rec.size()) {
        if (rec[j] == '"') {
          if (j + 1 < rec.size() && rec[j + 1] == '"') {
            unquoted->push_back('"');
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        unquoted->push_back(rec[j++]);
      }
      const std::string field = "field " + std::to_string(fields->size() + 1);
      if (!closed) return Status::InvalidArgument("unterminated quoted " + field);
      while (j < rec.size() && (rec[j] == ' ' || rec[j] == '\t' || rec[j] == '\r')) ++j;
      if (j < rec.size() && rec[j] != ',') {
        const unsigned char c = static_cast<unsigned char>(rec[j]);
        return Status::InvalidArgument(std::string("unexpected character '") +
                                       (c < 0x20 || c == 0x7f ? '?' : rec[j]) +
                                       "' after closing quote in " + field);
      }
    } else {
      j = i;
      while (j < rec.size() && rec[j] != ',') unquoted->push_back(rec[j++]);
    }
    fields->emplace_back(unquoted->data() + field_start, unquoted->size() - field_start);
    if (j >= rec.size()) break;
    i = j + 1;  // skip ','
    if (i == rec.size()) {
      // Trailing comma: one more empty field.
      if (fields->size() < max_fields) fields->emplace_back();
      break;
    }
  }
  return Status::OK();
}

CsvReader::CsvReader(std::string_view text) : rest_(text) {
  if (rest_.substr(0, 3) == "\xEF\xBB\xBF") rest_.remove_prefix(3);
}

Status CsvReader::Next(std::vector<std::string_view>* fields, bool* eof) {
  for (;;) {
    if (rest_.empty()) {
      *eof = true;
      return Status::OK();
    }
    CsvRecordSpan span;
    if (FindCsvRecord(rest_, /*at_end=*/true, &span) != CsvScan::kRecord) {
      return Status::InvalidArgument("line " + std::to_string(next_line_) +
                                     ": unterminated quoted field");
    }
    std::string_view rec = rest_.substr(0, span.length);
    if (!rec.empty() && rec.back() == '\r') rec.remove_suffix(1);
    rest_.remove_prefix(span.consumed);
    record_line_ = next_line_;
    next_line_ += span.newlines;
    if (IsBlank(rec)) continue;
    *eof = false;
    Status st = SplitCsvRecord(rec, static_cast<size_t>(-1), fields, &unquoted_);
    if (!st.ok()) return st.WithContext("line " + std::to_string(record_line_));
    return Status::OK();
  }
}

Status ReadCsvRows(std::string_view text, std::vector<std::vector<std::string>>* rows) {
  rows->clear();
  CsvReader reader(text);
  std::vector<std::string_view> fields;
  for (;;) {
    bool eof = false;
    BACKSIGHT_RETURN_IF_ERROR(reader.Next(&fields, &eof));
    if (eof) return Status::OK();
    rows->emplace_back(fields.begin(), fields.end());
  }
}

std::vector<std::string> SplitDelimited(std::string_view text, char sep) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    const size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

}  // namespace backsight
