// The one CSV reader and writer of the project (RFC 4180 with the usual relaxations: LF or CRLF
// line ends, spaces before an opening quote, blank lines skipped by the readers).
//
// Reading is split in two steps that every reader shares: FindCsvRecord finds where a record
// ends (a line end outside double quotes) and SplitCsvRecord splits it into fields. CsvReader
// runs both over a text held in memory; the streaming series reader
// (ingest/csv_series.h) runs them over its file buffer.
#ifndef BACKSIGHT_CORE_CSV_H_
#define BACKSIGHT_CORE_CSV_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace backsight {

/// Appends one CSV field to *out, quoting it (and doubling inner quotes) when it holds a comma,
/// a quote, CR or LF (RFC 4180, section 2).
void AppendCsvField(std::string_view field, std::string* out);

/// Where the record at the start of some data ends.
struct CsvRecordSpan {
  size_t length = 0;      ///< bytes of the record, without its line end (a trailing CR kept)
  size_t consumed = 0;    ///< bytes to skip to the next record, line end included
  uint64_t newlines = 0;  ///< line feeds consumed (inside quotes and the record's own)
};

/// What FindCsvRecord found.
enum class CsvScan {
  kRecord,        ///< a whole record: *span is set
  kNeedMore,      ///< no line end outside quotes yet and more data may follow
  kUnterminated,  ///< `at_end` and a quote is still open
};

/// Finds the record at the start of `data`: up to the first line feed outside double quotes,
/// or, when `at_end` (nothing follows `data`), the rest of `data` (which must not be empty).
/// O(record length); lines without a quote take one memchr.
CsvScan FindCsvRecord(std::string_view data, bool at_end, CsvRecordSpan* span);

/// Splits one record (as found by FindCsvRecord, trailing CR removed) into at most `max_fields`
/// fields, appended to the cleared *fields. Fields are views into `record`, or into *unquoted
/// for double-quoted fields (quotes removed, `""` made `"`; spaces around the quotes dropped), so
/// they are valid while both live and *unquoted is not touched. Unquoted fields are returned as
/// written (callers trim). Errors (InvalidArgument, Reason::kMalformed): an unterminated quoted
/// field, or a character other than a comma after a closing quote; the message names the field
/// (1-based).
Status SplitCsvRecord(std::string_view record, size_t max_fields,
                      std::vector<std::string_view>* fields, std::string* unquoted);

/// Reads the records of a CSV text held in memory, one at a time, skipping a UTF-8 byte order
/// mark and blank lines (only spaces, tabs or CR).
class CsvReader {
 public:
  /// `text` must outlive the reader.
  explicit CsvReader(std::string_view text);

  /// Reads the next non-blank record into *fields (views valid until the next call); sets *eof
  /// (fields untouched) at the end of the text. Errors as SplitCsvRecord, prefixed
  /// "line L: " with the line where the record starts; the reader must not be used after one.
  Status Next(std::vector<std::string_view>* fields, bool* eof);

  /// 1-based line where the record last returned by Next starts.
  uint64_t line() const { return record_line_; }

 private:
  std::string_view rest_;
  uint64_t next_line_ = 1;
  uint64_t record_line_ = 0;
  std::string unquoted_;
};

/// Splits `text` at every `sep` with no quoting (a TSV row, a ';'-separated id list): n separators
/// give n + 1 fields, empty ones kept; "" gives one empty field.
std::vector<std::string> SplitDelimited(std::string_view text, char sep);

/// Reads a whole CSV text into rows of fields (CsvReader, fields copied).
Status ReadCsvRows(std::string_view text, std::vector<std::vector<std::string>>* rows);

}  // namespace backsight

#endif  // BACKSIGHT_CORE_CSV_H_
