// Streaming reader for one metric series stored as CSV (`timestamp,value` plus any other columns).
//
// Format (RFC 4180 with the usual relaxations):
//   - The first non-blank line is a header; it is required. A first line that looks like data (its
//     timestamp and value fields parse) is rejected as "missing header".
//   - Columns are found by name, case-insensitively, after trimming spaces and a UTF-8 BOM:
//       timestamp: the configured name if given, else the first of `timestamp`, `time`, `ts`,
//                  `datetime`, `date`; else, when the header has exactly two columns, column 1.
//       value:     the configured name if given, else `value`; else, when the header has exactly
//                  two columns, the column that is not the timestamp.
//     Anything else is an error naming the header's columns. Other columns are ignored.
//   - Fields are separated by ','; a field may be double-quoted, with `""` for a literal quote and
//     newlines allowed inside quotes. Line ends are LF or CRLF. Blank lines are skipped.
//   - Timestamps: ISO-8601 / RFC 3339 or epoch seconds/ms/us/ns (see backsight::ParseTimestamp).
//   - Values: decimal or scientific floating point. An empty field, `NaN`, `null`, `NA`, `N/A`
//     (any case) means a missing measurement and is returned as NaN (not an error); `inf`/`-inf`
//     are returned as infinities. Callers decide what to do with non-finite values.
// Errors name the source, the 1-based line where the record starts, the column and the reason,
// e.g. `cpu.csv:17: bad value 'abc' in column 'value'`.
//
// Memory: one read buffer (64 KiB, grown only for records longer than that, up to
// kMaxRecordBytes). Rows are returned one at a time; the file is never held in memory.
#ifndef BACKSIGHT_INGEST_CSV_SERIES_H_
#define BACKSIGHT_INGEST_CSV_SERIES_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::ingest {

/// One data row of a series file.
struct SeriesRow {
  TimestampNs ts = 0;  ///< ns since the epoch (UTC)
  double value = 0;    ///< NaN for a missing measurement; may be +-inf
  uint64_t line = 0;   ///< 1-based line number where the record starts
};

/// Options of CsvSeriesReader.
struct CsvSeriesOptions {
  /// Name of the timestamp column (case-insensitive); empty = automatic (see file comment).
  std::string timestamp_column;
  /// Name of the value column (case-insensitive); empty = automatic (see file comment).
  std::string value_column;
};

/// Reads SeriesRow records one at a time from a CSV file, stdin or a memory buffer.
/// Not thread-safe. Movable only through the unique_ptr returned by the factories.
class CsvSeriesReader {
 public:
  /// Records longer than this (bytes, quoted newlines included) are rejected as an error.
  static constexpr size_t kMaxRecordBytes = 1 << 20;

  /// Opens `path` for reading; "-" means stdin (shown as "<stdin>" in messages). The header is
  /// read and checked here. Returns IoError if the file cannot be opened or read, and
  /// InvalidArgument (with file:line) for a missing/empty header or missing columns.
  static Status Open(const std::string& path, const CsvSeriesOptions& options,
                     std::unique_ptr<CsvSeriesReader>* out);

  /// Reads from a memory buffer that must outlive the reader; `name` is used in messages.
  /// Same header checks as Open.
  static Status FromBuffer(std::string_view data, std::string name, const CsvSeriesOptions& options,
                           std::unique_ptr<CsvSeriesReader>* out);

  ~CsvSeriesReader();
  CsvSeriesReader(const CsvSeriesReader&) = delete;
  CsvSeriesReader& operator=(const CsvSeriesReader&) = delete;

  /// Reads the next data row into `*row`. Sets `*eof` to true (and leaves `*row` alone) when the
  /// input is exhausted. Returns InvalidArgument `name:line: reason` for a malformed row
  /// (unparseable timestamp or value, too few fields, unterminated quote, over-long record) and
  /// IoError for a read failure; after an error the reader must not be used again.
  Status Next(SeriesRow* row, bool* eof);

  /// The name used in messages (the path, or "<stdin>").
  const std::string& name() const { return name_; }
  /// Header names of the chosen columns, as written in the file.
  const std::string& timestamp_column() const { return ts_name_; }
  const std::string& value_column() const { return value_name_; }
  /// Bytes consumed so far (including the header).
  uint64_t bytes_read() const { return consumed_total_; }

 private:
  CsvSeriesReader() = default;
  Status Init(const CsvSeriesOptions& options);
  // Makes the next record available as [rec_begin, rec_end) of the buffer, without its line end.
  // Sets *eof at the end of input. Skips blank lines.
  Status NextRecord(std::string_view* record, bool* eof);
  // Splits a record into fields_ (at most max_fields; views into the buffer or into unquoted_).
  Status SplitRecord(std::string_view record, size_t max_fields);
  Status Fill();  // reads more bytes into the buffer; sets at_eof_ when none are left
  // InvalidArgument "<name>:<line>: <reason>" with the typed reason `r`.
  Status Error(uint64_t line, std::string_view reason, Reason r = Reason::kMalformed) const;

  std::string name_;
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  bool at_eof_ = false;
  std::vector<char> storage_;  // read buffer for file input
  const char* buf_ = nullptr;  // current data: storage_ or the caller's memory
  size_t pos_ = 0;             // start of unread data in buf_
  size_t end_ = 0;             // end of valid data in buf_
  uint64_t consumed_total_ = 0;
  uint64_t line_ = 1;          // line number of buf_[pos_]
  uint64_t current_line_ = 0;  // line where the last record returned by NextRecord starts
  std::vector<std::string_view> fields_;
  std::string unquoted_;
  size_t ts_col_ = 0;
  size_t value_col_ = 1;
  size_t need_fields_ = 2;
  std::string ts_name_;
  std::string value_name_;
};

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_CSV_SERIES_H_
