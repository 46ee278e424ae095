#include "backsight/ingest/csv_series.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace backsight::ingest {
namespace {

constexpr int64_t kT0 = 1404172800LL;  // 2014-07-01 00:00:00 UTC, seconds

// Reads every row of `data`; returns the first error (OK at the end of input).
Status ReadAll(std::string_view data, std::vector<SeriesRow>* rows, const CsvSeriesOptions& o = {},
               const std::string& name = "test.csv") {
  std::unique_ptr<CsvSeriesReader> r;
  BACKSIGHT_RETURN_IF_ERROR(CsvSeriesReader::FromBuffer(data, name, o, &r));
  for (;;) {
    SeriesRow row;
    bool eof = false;
    BACKSIGHT_RETURN_IF_ERROR(r->Next(&row, &eof));
    if (eof) return Status::OK();
    rows->push_back(row);
  }
}

std::string TempPath(const std::string& stem) {
  return ::testing::TempDir() + "/" + stem + "_" + std::to_string(::getpid()) + ".csv";
}

TEST(CsvSeriesTest, ReadsGoodFileWithIsoTimestamps) {
  std::vector<SeriesRow> rows;
  ASSERT_TRUE(
      ReadAll("timestamp,value\n2014-07-01 00:00:00,1.5\n2014-07-01T00:05:00Z,-2e3\n", &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].ts, kT0 * kNanosPerSecond);
  EXPECT_DOUBLE_EQ(rows[0].value, 1.5);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].ts, (kT0 + 300) * kNanosPerSecond);
  EXPECT_DOUBLE_EQ(rows[1].value, -2000);
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(CsvSeriesTest, ReadsEpochSecondsAndMillis) {
  std::vector<SeriesRow> rows;
  ASSERT_TRUE(
      ReadAll("timestamp,value\n1404172800,1\n1404172800500,2\n1404172801.25,3", &rows).ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].ts, kT0 * kNanosPerSecond);
  EXPECT_EQ(rows[1].ts, kT0 * kNanosPerSecond + 500 * kNanosPerMilli);
  EXPECT_EQ(rows[2].ts, (kT0 + 1) * kNanosPerSecond + 250 * kNanosPerMilli);
  EXPECT_DOUBLE_EQ(rows[2].value, 3);  // last line has no line end
}

TEST(CsvSeriesTest, FindsColumnsByNameCaseInsensitiveAndIgnoresOthers) {
  std::vector<SeriesRow> rows;
  CsvSeriesReader* seen = nullptr;
  std::unique_ptr<CsvSeriesReader> r;
  ASSERT_TRUE(
      CsvSeriesReader::FromBuffer("host, Value ,TimeStamp\nA,7,1404172800\n", "x.csv", {}, &r)
          .ok());
  seen = r.get();
  EXPECT_EQ(seen->timestamp_column(), "TimeStamp");
  EXPECT_EQ(seen->value_column(), "Value");
  SeriesRow row;
  bool eof = true;
  ASSERT_TRUE(r->Next(&row, &eof).ok());
  ASSERT_FALSE(eof);
  EXPECT_EQ(row.ts, kT0 * kNanosPerSecond);
  EXPECT_DOUBLE_EQ(row.value, 7);
}

TEST(CsvSeriesTest, TwoColumnFallbackAndExplicitNames) {
  std::vector<SeriesRow> rows;
  ASSERT_TRUE(ReadAll("when,cpu\n1404172800,0.5\n", &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].value, 0.5);

  rows.clear();
  CsvSeriesOptions o;
  o.timestamp_column = "t";
  o.value_column = "mem";
  ASSERT_TRUE(ReadAll("cpu,t,mem\n1,1404172800,42\n", &rows, o).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].value, 42);

  rows.clear();
  Status s = ReadAll("a,b,c\n1,2,3\n", &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("test.csv:1: no timestamp column"), std::string::npos) << s.message();
  o.value_column = "nope";
  s = ReadAll("cpu,t,mem\n1,1404172800,42\n", &rows, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no column named 'nope'"), std::string::npos) << s.message();
}

TEST(CsvSeriesTest, QuotedFieldsWithCommasEscapesAndNewlines) {
  std::vector<SeriesRow> rows;
  const std::string data =
      "\"note\",\"timestamp\",\"value\"\n"
      "\"a, \"\"b\"\"\",\"2014-07-01 00:00:00\",\"3.25\"\n"
      "\"multi\nline\",1404172860,4\n"
      "x,1404172920, \"5\" \n";
  ASSERT_TRUE(ReadAll(data, &rows).ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_DOUBLE_EQ(rows[0].value, 3.25);
  EXPECT_EQ(rows[1].line, 3u);  // record starts on line 3 and spans two lines
  EXPECT_EQ(rows[1].ts, (kT0 + 60) * kNanosPerSecond);
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_DOUBLE_EQ(rows[2].value, 5);
}

TEST(CsvSeriesTest, CrlfBlankLinesAndBom) {
  std::vector<SeriesRow> rows;
  ASSERT_TRUE(
      ReadAll("\xEF\xBB\xBFtimestamp,value\r\n\r\n1404172800,1\r\n   \r\n1404172860,2\r\n", &rows)
          .ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 3u);
  EXPECT_EQ(rows[1].line, 5u);
  EXPECT_DOUBLE_EQ(rows[1].value, 2);
}

TEST(CsvSeriesTest, MissingValuesAreNaNNotErrors) {
  std::vector<SeriesRow> rows;
  ASSERT_TRUE(ReadAll("timestamp,value\n1404172800,\n1404172860,NaN\n1404172920,null\n"
                      "1404172980,inf\n1404173040,+1.5\n",
                      &rows)
                  .ok());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(std::isnan(rows[0].value));
  EXPECT_TRUE(std::isnan(rows[1].value));
  EXPECT_TRUE(std::isnan(rows[2].value));
  EXPECT_TRUE(std::isinf(rows[3].value));
  EXPECT_DOUBLE_EQ(rows[4].value, 1.5);
}

TEST(CsvSeriesTest, MissingHeaderIsAnError) {
  std::vector<SeriesRow> rows;
  Status s = ReadAll("2014-07-01 00:00:00,1.5\n2014-07-01 00:05:00,2\n", &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("test.csv:1: missing header"), std::string::npos) << s.message();
}

TEST(CsvSeriesTest, EmptyInputIsAnError) {
  for (std::string_view data : {"", "\n\n  \r\n"}) {
    std::vector<SeriesRow> rows;
    Status s = ReadAll(data, &rows);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("test.csv:1: empty input"), std::string::npos) << s.message();
  }
  std::vector<SeriesRow> rows;
  EXPECT_TRUE(ReadAll("timestamp,value\n", &rows).ok());  // header only: zero rows, fine
  EXPECT_TRUE(rows.empty());
}

TEST(CsvSeriesTest, BadValueNamesFileLineAndColumn) {
  std::vector<SeriesRow> rows;
  Status s = ReadAll("timestamp,value\n1404172800,1\n\n1404172860,abc\n1404172920,3\n", &rows, {},
                     "cpu.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cpu.csv:4: bad value 'abc' in column 'value'");
  EXPECT_EQ(s.reason(), Reason::kMalformed);
  EXPECT_EQ(rows.size(), 1u);
  rows.clear();
  s = ReadAll("timestamp,value\n1404172800,1.5x\n", &rows, {}, "cpu.csv");
  EXPECT_EQ(s.message(), "cpu.csv:2: bad value '1.5x' in column 'value'");
}

TEST(CsvSeriesTest, BadTimestampNamesFileLineColumnAndReason) {
  std::vector<SeriesRow> rows;
  Status s = ReadAll("timestamp,value\n2014-07-01 00:00:00,1\n2014-13-01 00:00:00,2\n", &rows, {},
                     "mem.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("mem.csv:3: bad timestamp '2014-13-01 00:00:00' in column "
                              "'timestamp': month or day out of range",
                              0),
            0u)
      << s.message();
  rows.clear();
  s = ReadAll("timestamp,value\nyesterday,1\n", &rows, {}, "mem.csv");
  EXPECT_NE(s.message().find("mem.csv:2: bad timestamp 'yesterday'"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.reason(), Reason::kTimestamp);
}

TEST(CsvSeriesTest, TimestampsOutsideTheNanosecondRangeAreErrors) {
  std::vector<SeriesRow> rows;
  Status s = ReadAll("timestamp,value\n9999-12-31 23:59:59,1\n", &rows);
  EXPECT_NE(s.message().find("test.csv:2: bad timestamp '9999-12-31 23:59:59'"), std::string::npos)
      << s.message();
  s = ReadAll("timestamp,value\n99999999999,1\n", &rows);  // year 5138 in seconds: too late
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  s = ReadAll("timestamp,value\n100000000000.5,1\n", &rows);  // milliseconds (1973): fine
  EXPECT_TRUE(s.ok()) << s.message();
  s = ReadAll("timestamp,value\n1e30,1\n", &rows);
  EXPECT_FALSE(s.ok());
}

TEST(CsvSeriesTest, TooFewFieldsAndUnterminatedQuote) {
  std::vector<SeriesRow> rows;
  Status s = ReadAll("timestamp,value\n1404172800\n", &rows);
  EXPECT_EQ(s.message(), "test.csv:2: expected at least 2 fields, found 1");
  s = ReadAll("timestamp,value\n1404172800,\"1\n", &rows);
  EXPECT_EQ(s.message(), "test.csv:2: unterminated quoted field");
  s = ReadAll("timestamp,value\n1404172800,\"1\"x\n", &rows);
  EXPECT_NE(s.message().find("test.csv:2: unexpected character 'x' after closing quote"),
            std::string::npos)
      << s.message();
}

TEST(CsvSeriesTest, ReadsLargeFileAcrossBufferRefills) {
  const std::string path = TempPath("large");
  {
    std::ofstream f(path, std::ios::binary);
    f << "timestamp,value,comment\r\n";
    for (int i = 0; i < 100000; ++i) {
      f << (kT0 + i * 60) << ',' << i * 0.5;
      // Every 1000th row has a long quoted comment with a newline inside.
      if (i % 1000 == 7)
        f << ",\"" << std::string(3000, 'q') << "\n"
          << "tail\"";
      f << "\r\n";
    }
  }
  std::unique_ptr<CsvSeriesReader> r;
  ASSERT_TRUE(CsvSeriesReader::Open(path, {}, &r).ok());
  SeriesRow row;
  bool eof = false;
  int n = 0;
  uint64_t expected_line = 2;
  for (;;) {
    Status s = r->Next(&row, &eof);
    ASSERT_TRUE(s.ok()) << s.message();
    if (eof) break;
    ASSERT_EQ(row.ts, (kT0 + n * 60) * kNanosPerSecond);
    ASSERT_DOUBLE_EQ(row.value, n * 0.5);
    ASSERT_EQ(row.line, expected_line);
    expected_line += (n % 1000 == 7) ? 2 : 1;
    ++n;
  }
  EXPECT_EQ(n, 100000);
  std::remove(path.c_str());
}

TEST(CsvSeriesTest, MissingFileIsIoError) {
  std::unique_ptr<CsvSeriesReader> r;
  Status s = CsvSeriesReader::Open("/nonexistent/dir/x.csv", {}, &r);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("/nonexistent/dir/x.csv"), std::string::npos);
}

TEST(CsvSeriesTest, OverlongRecordIsAnErrorNotAHang) {
  std::string data = "timestamp,value\n1404172800,\"";
  data += std::string(CsvSeriesReader::kMaxRecordBytes + 10, 'z');
  data += "\"\n";
  std::vector<SeriesRow> rows;
  Status s = ReadAll(data, &rows);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("test.csv:2: record longer than"), std::string::npos) << s.message();
  EXPECT_EQ(s.reason(), Reason::kTooLarge);
}

}  // namespace
}  // namespace backsight::ingest
