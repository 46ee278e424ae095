// End-to-end tests of `backsight logs`: real gzip files (made with gzip(1)) cut or corrupted,
// the partial last time bucket, directories, and --help.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"

namespace backsight::testing {
namespace {

constexpr char kHeader[] = "'<Date> <Time> <Level> <Component>: <Content>'";

// `n` lines, one per second from 2024-01-01 00:00:`start_sec`, all of one template.
std::string SteadyLog(int n, int start_sec = 0) {
  std::string s;
  char buf[128];
  for (int i = 0; i < n; ++i) {
    const int t = start_sec + i;
    std::snprintf(buf, sizeof buf,
                  "2024-01-01 %02d:%02d:%02d INFO svc: request %d served in %d ms\n", t / 3600,
                  t / 60 % 60, t % 60, i, (i * 7919) % 500);
    s += buf;
  }
  return s;
}

class LogsCliTest : public CliTest {
 protected:
  // Writes `n` steady lines to name (plain) and name.gz (gzip -n), returns the .gz path.
  std::string Gzipped(const std::string& name, int n) {
    const std::string path = Write(name, SteadyLog(n));
    EXPECT_EQ(Shell("gzip -n -k -f '" + path + "'").rc, 0);
    return path + ".gz";
  }
  static size_t FileSize(const std::string& path) { return ReadWholeFile(path).size(); }
};

TEST_F(LogsCliTest, IntactGzipIsReadWhole) {
  const std::string gz = Gzipped("app.log", 20000);
  CliResult r = Run("logs -q --format json --header " + std::string(kHeader) + " '" + gz + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["lines"], 20000);
  EXPECT_EQ(j["templates_total"], 1);
  // Concatenated members (gzip -c a b > ab.gz, RFC 1952 2.2) are read in turn.
  const std::string two = dir_ + "/two.gz";
  ASSERT_EQ(Shell("cat '" + gz + "' '" + gz + "' > '" + two + "'").rc, 0);
  r = Run("logs -q --format json --header " + std::string(kHeader) + " '" + two + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["lines"], 40000);
}

TEST_F(LogsCliTest, TruncatedGzipIsExit3WithOffsetAfterTheReport) {
  const std::string gz = Gzipped("app.log", 20000);
  const size_t cut = FileSize(gz) / 2;
  const std::string cut_path = dir_ + "/cut.log.gz";
  ASSERT_EQ(Shell("head -c " + std::to_string(cut) + " '" + gz + "' > '" + cut_path + "'").rc, 0);
  CliResult r =
      Run("logs -q --format json --header " + std::string(kHeader) + " '" + cut_path + "'");
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find(cut_path + ": byte offset " + std::to_string(cut) +
                       ": truncated: gzip stream ended before its trailer"),
            std::string::npos)
      << r.err;
  // What was read is reported; the line cut in the middle is not mined as a new template.
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["lines"], 1000);
  EXPECT_LT(j["lines"], 20000);
  EXPECT_EQ(j["templates_total"], 1);
  // The same from stdin.
  r = Run("logs -q < '" + cut_path + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("<stdin>: byte offset " + std::to_string(cut) + ": truncated"),
            std::string::npos)
      << r.err;
}

TEST_F(LogsCliTest, CorruptGzipIsExit3WithOffsetAndZlibReason) {
  const std::string gz = Gzipped("app.log", 20000);
  std::string bytes = ReadWholeFile(gz);
  // gzip -n writes a 10-byte header; 0xff bytes after it make the first deflate block's type 3,
  // which does not exist (RFC 1951 3.2.3).
  std::string bad = bytes;
  for (size_t i = 10; i < 16; ++i) bad[i] = '\xff';
  const std::string bad_path = Write("bad.log.gz", bad);
  CliResult r = Run("logs -q '" + bad_path + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find(bad_path + ": byte offset 11: invalid block type"), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("0 lines"), std::string::npos) << r.out;

  // A damaged CRC-32 in the trailer (last 8 bytes: CRC-32, ISIZE) is found after all lines.
  std::string crc = bytes;
  crc[crc.size() - 8] = static_cast<char>(crc[crc.size() - 8] ^ 0x55);
  const std::string crc_path = Write("crc.log.gz", crc);
  r = Run("logs -q --format json '" + crc_path + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find(crc_path + ": byte offset " + std::to_string(crc.size() - 4) +
                       ": incorrect data check"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["lines"], 20000);
}

TEST_F(LogsCliTest, SteadyLogHasNoRateAnomalyAtItsEnd) {
  // 10 hours, one line per second, starting 3 s into a minute: the last minute has 3 lines.
  const std::string path = Write("steady.log", SteadyLog(36000, 3));
  CliResult r = Run("logs -q --format json --header " + std::string(kHeader) + " '" + path + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["lines"], 36000);
  EXPECT_TRUE(j["rate_events"].empty()) << j["rate_events"].dump();
}

TEST_F(LogsCliTest, DirectoryIsAnError) {
  CliResult r = Run("logs -q '" + dir_ + "'");
  EXPECT_EQ(r.rc, 4);
  EXPECT_NE(r.err.find(dir_ + ": is a directory"), std::string::npos) << r.err;
  r = Run("logs -q --state-in '" + dir_ + "' /dev/null");
  EXPECT_EQ(r.rc, 4);
  EXPECT_NE(r.err.find(dir_ + ": is a directory"), std::string::npos) << r.err;
}

TEST_F(LogsCliTest, HelpListsExitCodes) {
  CliResult r = Run("logs --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 bad input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("truncated or corrupt gzip"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace backsight::testing
