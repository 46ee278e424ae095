// End-to-end tests of `backsight detect`: runs the real binary on small CSV files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"

namespace {

using backsight::testing::CliResult;
using backsight::testing::ReadWholeFile;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(line);
  return lines;
}

class DetectCliTest : public backsight::testing::CliTest {
 protected:
  using CliTest::Run;
  // Runs `backsight <args>` with stdin from the file `stdin_path`.
  CliResult Run(const std::string& args, const std::string& stdin_path) {
    return Shell(std::string("'") + BACKSIGHT_BIN + "' " + args + " <'" + stdin_path + "'");
  }

  // A series of `n` rows, 1 minute apart, a smooth wave; `spike_at` >= 0 adds a big outlier.
  static std::string Series(int n, int spike_at = -1) {
    std::string s = "timestamp,value\n";
    for (int i = 0; i < n; ++i) {
      const long long t = 1404172800LL + i * 60LL;
      double v = 10 + std::sin(i * 0.1) + 0.01 * (i % 7);
      if (i == spike_at) v += 1000;
      s += std::to_string(t) + "," + std::to_string(v) + "\n";
    }
    return s;
  }

  std::string dir_;
};

TEST_F(DetectCliTest, ScoresAFileWithHeaderAndSummary) {
  const std::string in = Write("cpu.csv", Series(300));
  CliResult r = Run("detect '" + in + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 301u);
  EXPECT_EQ(lines[0], "timestamp,value,anomaly_score,is_anomaly");
  EXPECT_EQ(lines[1].rfind("2014-07-01 00:00:00,10,", 0), 0u) << lines[1];
  EXPECT_NE(r.err.find("cpu.csv"), std::string::npos);
  EXPECT_NE(r.err.find("300 read"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warm-up"), std::string::npos) << r.err;
}

// The bundled demo: the summary lists intervals highest peak first, the machine failure (the
// long temperature decline of 2014-02-07..09, NAB realKnownCause) is among the ten listed, and no
// warm-up row scores above 1.
TEST_F(DetectCliTest, DemoSummaryRanksByPeakAndShowsTheFailure) {
  CliResult r = Run(std::string("detect '") + BACKSIGHT_DEMO_CSV + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<double> peaks;
  bool failure = false, in_table = false;
  for (const std::string& line : Lines(r.err)) {
    if (line.find("peak score") != std::string::npos) {
      in_table = true;
      continue;
    }
    if (!in_table || line.rfind("    20", 0) != 0) continue;
    // "    start(19)  end(19)  peak(10)  peak at(19)  rows"
    peaks.push_back(std::stod(line.substr(4 + 19 + 2 + 19 + 2, 10)));
    failure = failure || line.find("2014-02-08") != std::string::npos;
  }
  ASSERT_EQ(peaks.size(), 10u) << r.err;
  for (size_t i = 1; i < peaks.size(); ++i) EXPECT_GE(peaks[i - 1], peaks[i]) << r.err;
  EXPECT_TRUE(failure) << r.err;
  const auto rows = Lines(r.out);
  int scored = 0;
  for (size_t i = 1; i < rows.size() && scored < 500; ++i) {
    const std::string score = rows[i].substr(rows[i].find(',', 20) + 1);
    if (score[0] == ',') continue;  // rejected row
    ++scored;
    ASSERT_LE(std::stod(score), 1.0) << rows[i];
  }
}

TEST_F(DetectCliTest, QuietWritesNothingOnStderrAndOutputGoesToFile) {
  const std::string in = Write("cpu.csv", Series(50));
  const std::string out = dir_ + "/scores.csv";
  CliResult r = Run("detect --quiet -o '" + out + "' '" + in + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(Lines(ReadWholeFile(out)).size(), 51u);
}

TEST_F(DetectCliTest, ReadsStdin) {
  const std::string in = Write("cpu.csv", Series(20));
  CliResult a = Run("detect -q", in);
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(Lines(a.out).size(), 21u);
  CliResult b = Run("detect -q -", in);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST_F(DetectCliTest, MalformedRowIsExit3WithFileLineAndPartialOutput) {
  std::string data = Series(10);
  data += "1404173400,abc\n1404173460,5\n";  // line 12 is bad
  const std::string in = Write("bad.csv", data);
  CliResult r = Run("detect -q '" + in + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("bad.csv:12: bad value 'abc' in column 'value'"), std::string::npos)
      << r.err;
  EXPECT_EQ(Lines(r.out).size(), 11u);  // header + the 10 good rows, flushed

  const std::string in2 = Write("badts.csv", "timestamp,value\n2014-07-01 00:00:00,1\nnoon,2\n");
  r = Run("detect -q '" + in2 + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("badts.csv:3: bad timestamp 'noon'"), std::string::npos) << r.err;

  const std::string in3 = Write("nohdr.csv", "1404172800,1\n1404172860,2\n");
  r = Run("detect -q '" + in3 + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("nohdr.csv:1: missing header"), std::string::npos) << r.err;
}

TEST_F(DetectCliTest, UsageErrorsAreExit2) {
  const std::string in = Write("cpu.csv", Series(5));
  EXPECT_EQ(Run("detect --format xml '" + in + "'").rc, 2);
  EXPECT_EQ(Run("detect --no-such-option '" + in + "'").rc, 2);
  EXPECT_EQ(Run("detect --plot out.jpg '" + in + "'").rc, 2);
  EXPECT_EQ(Run("detect - -", in).rc, 2);
}

TEST_F(DetectCliTest, MissingFileIsExit4) {
  CliResult r = Run("detect -q '" + dir_ + "/nope.csv'");
  EXPECT_EQ(r.rc, 4);
  EXPECT_NE(r.err.find("nope.csv"), std::string::npos);
}

TEST_F(DetectCliTest, RejectedRowsAreCountedNotErrors) {
  std::string data = "timestamp,value\n";
  data += "2014-07-01 00:00:00,1\n2014-07-01 00:01:00,2\n";
  data += "2014-07-01 00:01:00,3\n";  // duplicate
  data += "2014-07-01 00:00:30,4\n";  // out of order
  data += "2014-07-01 00:02:00,\n";   // missing value
  data += "2014-07-01 00:03:00,5\n";
  const std::string in = Write("rej.csv", data);
  CliResult r = Run("detect '" + in + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[3], "2014-07-01 00:01:00,3,,");
  EXPECT_EQ(lines[4], "2014-07-01 00:00:30,4,,");
  EXPECT_EQ(lines[5], "2014-07-01 00:02:00,NaN,,");  // core/number_format.h spelling
  EXPECT_NE(r.err.find("3 rejected"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 duplicate_timestamp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 out_of_order_timestamp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 non_finite_value"), std::string::npos) << r.err;
}

TEST_F(DetectCliTest, JsonLinesParseAndCarryFileFieldForSeveralFiles) {
  const std::string a = Write("a.csv", Series(30));
  const std::string b = Write("b.csv", "timestamp,value\n1404172800,1\n1404172800,2\n");
  CliResult r = Run("detect -q --format jsonl '" + a + "' '" + b + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 32u);
  int from_a = 0, rejected = 0;
  for (const std::string& line : lines) {
    nlohmann::json j = nlohmann::json::parse(line);  // throws (test fails) if invalid
    ASSERT_TRUE(j.contains("file"));
    ASSERT_TRUE(j["timestamp"].is_string());
    ASSERT_TRUE(j["value"].is_number());
    ASSERT_TRUE(j.contains("yhat"));
    if (j["file"] == a) ++from_a;
    if (j.contains("rejected")) {
      ++rejected;
      EXPECT_EQ(j["rejected"], "duplicate_timestamp");
      EXPECT_TRUE(j["anomaly_score"].is_null());
    } else {
      EXPECT_TRUE(j["anomaly_score"].is_number());
      EXPECT_TRUE(j["is_anomaly"].is_boolean());
    }
  }
  EXPECT_EQ(from_a, 30);
  EXPECT_EQ(rejected, 1);

  // A single file: no "file" field.
  r = Run("detect -q --format jsonl '" + a + "'");
  ASSERT_EQ(r.rc, 0);
  EXPECT_FALSE(nlohmann::json::parse(Lines(r.out)[0]).contains("file"));
}

TEST_F(DetectCliTest, SeveralFilesInCsvGetAFileColumn) {
  const std::string a = Write("a.csv", Series(3));
  const std::string b = Write("b.csv", Series(2));
  CliResult r = Run("detect -q '" + a + "' '" + b + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "file,timestamp,value,anomaly_score,is_anomaly");
  EXPECT_EQ(lines[1].rfind(a + ",", 0), 0u);
  EXPECT_EQ(lines[5].rfind(b + ",", 0), 0u);
}

TEST_F(DetectCliTest, FailOnAnomalyExitCodeFollowsTheOutput) {
  const std::string in = Write("spike.csv", Series(600, 500));
  CliResult r = Run("detect -q --fail-on-anomaly '" + in + "'");
  bool any = false;
  for (const std::string& line : Lines(r.out)) {
    if (line.size() > 2 && line.substr(line.size() - 2) == ",1") any = true;
  }
  // Whatever the detector decides, the exit code must agree with the is_anomaly column.
  EXPECT_EQ(r.rc, any ? 1 : 0) << r.err;
  r = Run("detect -q '" + in + "'");
  EXPECT_EQ(r.rc, 0);
}

TEST_F(DetectCliTest, WritesPlots) {
  const std::string in = Write("cpu.csv", Series(400, 300));
  for (const char* ext : {"png", "svg", "html"}) {
    const std::string plot = dir_ + "/plot." + ext;
    CliResult r = Run("detect -q -o /dev/null --plot '" + plot + "' '" + in + "'");
    ASSERT_EQ(r.rc, 0) << r.err;
    const std::string data = ReadWholeFile(plot);
    ASSERT_GT(data.size(), 100u) << ext;
    if (std::string(ext) == "png") {
      EXPECT_EQ(data.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    } else if (std::string(ext) == "svg") {
      EXPECT_NE(data.find("<svg"), std::string::npos);
    } else {
      EXPECT_EQ(data.rfind("<!DOCTYPE html>", 0), 0u);
    }
  }
}

TEST_F(DetectCliTest, HelpDocumentsFormatsAndExitCodes) {
  CliResult r = Run("detect --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--fail-on-anomaly"), std::string::npos);
  EXPECT_NE(r.out.find("jsonl"), std::string::npos);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
}

}  // namespace
