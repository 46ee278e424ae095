#include "backsight/core/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace backsight {
namespace {

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvTest, QuotedFieldsLineEndsAndBlankLines) {
  Rows rows;
  ASSERT_TRUE(ReadCsvRows("\xEF\xBB\xBF"
                          "a,\"b,\"\"c\"\"\",d\r\n\n  \r\n1, \"x\ny\" ,\n3",
                          &rows)
                  .ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b,\"c\"", "d"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x\ny", ""}));  // trailing comma: empty field
  EXPECT_EQ(rows[2], (std::vector<std::string>{"3"}));
  std::string out;
  AppendCsvField("x,\"y\"", &out);
  EXPECT_EQ(out, "\"x,\"\"y\"\"\"");
  ASSERT_TRUE(ReadCsvRows(out + "\n", &rows).ok());
  EXPECT_EQ(rows, (Rows{{"x,\"y\""}}));
}

TEST(CsvTest, ReaderCountsLinesAcrossQuotedLineEnds) {
  CsvReader reader("h1,h2\n\"a\nb\",1\n\n2,3\n");
  std::vector<std::string_view> f;
  bool eof = false;
  std::vector<uint64_t> lines;
  for (;;) {
    ASSERT_TRUE(reader.Next(&f, &eof).ok());
    if (eof) break;
    lines.push_back(reader.line());
  }
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 5}));
}

TEST(CsvTest, ErrorsNameTheLineAndField) {
  Rows rows;
  Status st = ReadCsvRows("a,b\n1,\"2\n", &rows);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st.message();
  st = ReadCsvRows("a,b\n1,\"2\"x\n", &rows);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("field 2"), std::string::npos) << st.message();
}

TEST(CsvTest, FindRecordNeedsMoreUntilALineEndOutsideQuotes) {
  CsvRecordSpan span;
  EXPECT_EQ(FindCsvRecord("a,\"b\nc", /*at_end=*/false, &span), CsvScan::kNeedMore);
  EXPECT_EQ(FindCsvRecord("a,\"b\nc", /*at_end=*/true, &span), CsvScan::kUnterminated);
  ASSERT_EQ(FindCsvRecord("a,\"b\nc\"\nrest", /*at_end=*/false, &span), CsvScan::kRecord);
  EXPECT_EQ(span.length, 7u);
  EXPECT_EQ(span.consumed, 8u);
  EXPECT_EQ(span.newlines, 2u);
}

TEST(SplitDelimitedTest, KeepsEmptyFieldsAndDoesNotUnquote) {
  EXPECT_EQ(SplitDelimited("a\tb\t\"c\"", '\t'), (std::vector<std::string>{"a", "b", "\"c\""}));
  EXPECT_EQ(SplitDelimited("a;;b;", ';'), (std::vector<std::string>{"a", "", "b", ""}));
  EXPECT_EQ(SplitDelimited("", ';'), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace backsight
