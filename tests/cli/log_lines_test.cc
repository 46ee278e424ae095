#include "backsight/cli/log_lines.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "backsight/cli/commands.h"

namespace backsight::cli {
namespace {

// A scratch file holding `text`, removed at the end of the test.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& text) {
    char tmpl[] = "/tmp/log_lines_test_XXXXXX";
    const int fd = mkstemp(tmpl);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Accepts lines starting with "ok", refuses the others; records what it saw.
struct Parser {
  std::vector<std::string> seen;
  Status operator()(const std::string& line) {
    seen.push_back(line);
    return line.starts_with("ok") ? Status::OK() : Status::InvalidArgument("not ok");
  }
};

TEST(LogLines, CountsNonEmptyLinesAndShowsTheFirstTenMalformedWithFileAndLine) {
  std::string text = "ok 1\n\n";                 // line 2 is blank: skipped, still numbered
  for (int i = 0; i < 12; ++i) text += "bad\n";  // lines 3..14
  text += "ok 2\n";
  ScratchFile f(text);
  Parser parser;
  LogLines input("test", /*strict=*/false);
  ::testing::internal::CaptureStderr();
  const int rc = input.Read(f.path(), [&](const std::string& l) { return parser(l); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, kExitOk);
  EXPECT_EQ(input.lines(), 14u);
  EXPECT_EQ(input.malformed(), 12u);
  EXPECT_EQ(parser.seen.size(), 14u);
  EXPECT_EQ(parser.seen.back(), "ok 2");
  EXPECT_EQ(err.find(f.path() + ":3: not ok\n"), 0u) << err;
  EXPECT_NE(err.find(f.path() + ":12: not ok\n"), std::string::npos) << err;
  EXPECT_EQ(err.find(":13:"), std::string::npos) << err;  // beyond kMaxShown: counted only
  // Counts carry over to the next file; the shown limit is for the whole run.
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(input.Read(f.path(), [&](const std::string& l) { return parser(l); }), kExitOk);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(input.lines(), 28u);
  EXPECT_EQ(input.malformed(), 24u);
}

TEST(LogLines, StrictStopsAtTheFirstMalformedLine) {
  ScratchFile f("ok 1\nbad\nok 2\n");
  Parser parser;
  LogLines input("test", /*strict=*/true);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(input.Read(f.path(), [&](const std::string& l) { return parser(l); }), kExitBadInput);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), f.path() + ":2: not ok\n");
  EXPECT_EQ(parser.seen, (std::vector<std::string>{"ok 1", "bad"}));
}

TEST(LogLines, UnreadableFileIsBadInputNamedByTheCommand) {
  Parser parser;
  LogLines input("test", /*strict=*/false);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(input.Read("/nonexistent/log", [&](const std::string& l) { return parser(l); }),
            kExitBadInput);
  EXPECT_EQ(::testing::internal::GetCapturedStderr().rfind("backsight test: ", 0), 0u);
  EXPECT_TRUE(parser.seen.empty());
}

}  // namespace
}  // namespace backsight::cli
