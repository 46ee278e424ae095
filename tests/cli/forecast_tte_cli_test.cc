// `backsight forecast --tte` end to end: output layout, causality (a row's TTE does not change
// when later rows are removed), accuracy on a steady fill, usage errors.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"

namespace backsight::testing {
namespace {

using ForecastTteCliTest = CliTest;

constexpr long kStart = 1704067200;  // 2024-01-01 00:00 UTC
constexpr int kStep = 300;

// A disk filling from 300 to the limit 1000 in 5 days, sampled every 5 minutes; `rows` rows.
std::string FillCsv(int rows) {
  std::string s = "timestamp,value\n";
  for (int i = 0; i < rows; ++i) {
    double v = 300 + 700.0 * i * kStep / (5 * 86400.0) + (i % 7) * 0.1;
    s += std::to_string(kStart + static_cast<long>(i) * kStep) + "," + std::to_string(v) + "\n";
  }
  return s;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(ForecastTteCliTest, TteReplayIsCausalAndAccurateOnASteadyFill) {
  const int rows = 4 * 86400 / kStep;  // four days, exhaustion one day after the end
  CliResult full = Run("forecast --tte --limit 1000 '" + Write("fill.csv", FillCsv(rows)) + "'");
  ASSERT_EQ(full.rc, 0) << full.err;
  std::vector<std::string> lines = Lines(full.out);
  ASSERT_EQ(lines.size(), static_cast<size_t>(rows) + 1);
  EXPECT_EQ(lines[0], "timestamp,value,tte_seconds");
  // First row: one sample, no trend, empty TTE.
  EXPECT_EQ(lines[1].substr(lines[1].rfind(',')), ",");
  // Last row: 1 day + one step before the fill reaches the limit.
  const std::string& last = lines.back();
  double tte = std::stod(last.substr(last.rfind(',') + 1));
  EXPECT_NEAR(tte, 86400 + kStep, 0.1 * 86400);

  // Causality: the first two days replayed alone give the same rows.
  const int half = 2 * 86400 / kStep;
  CliResult part = Run("forecast --tte --limit 1000 '" + Write("half.csv", FillCsv(half)) + "'");
  ASSERT_EQ(part.rc, 0) << part.err;
  std::vector<std::string> plines = Lines(part.out);
  ASSERT_EQ(plines.size(), static_cast<size_t>(half) + 1);
  for (int i = 0; i <= half; ++i) ASSERT_EQ(plines[i], lines[i]) << "row " << i;
}

TEST_F(ForecastTteCliTest, IntervalColumnsBracketThePrediction) {
  CliResult r = Run("forecast --tte --interval --limit 1000 '" +
                    Write("fill.csv", FillCsv(3 * 86400 / kStep)) + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_EQ(lines[0], "timestamp,value,tte_seconds,tte_low_seconds,tte_high_seconds");
  std::vector<std::string> f;
  std::istringstream in(lines.back());
  for (std::string x; std::getline(in, x, ',');) f.push_back(x);
  ASSERT_EQ(f.size(), 5u) << lines.back();
  EXPECT_LE(std::stod(f[3]), std::stod(f[2]));
  EXPECT_GE(std::stod(f[4]), std::stod(f[2]));
}

TEST_F(ForecastTteCliTest, MissingLimitOrModeIsAUsageError) {
  std::string path = Write("fill.csv", FillCsv(10));
  EXPECT_EQ(Run("forecast --tte '" + path + "'").rc, 2);
  EXPECT_EQ(Run("forecast --limit 5 '" + path + "'").rc, 2);
  EXPECT_EQ(Run("forecast --tte --limit 5 '" + dir_ + "/missing.csv'").rc, 4);
}

}  // namespace
}  // namespace backsight::testing
