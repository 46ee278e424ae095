// End-to-end tests of `backsight forecast`: layouts, formats, timestamps, plot and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"

namespace backsight::testing {
namespace {

using ForecastCliTest = CliTest;

constexpr int64_t kStart = 1793491200;  // 2026-11-01 00:00:00 UTC

// Hourly series 50 + 10 sin(2 pi t / 24) for three weeks, with an optional leading series column.
std::string Hourly(const std::string& series = "", double offset = 0) {
  std::string csv;
  for (int t = 0; t < 24 * 21; ++t) {
    if (!series.empty()) csv += series + ",";
    csv += std::to_string(kStart + 3600 * t) + "," +
           std::to_string(offset + 50 + 10 * std::sin(6.283185307179586 * t / 24)) + "\n";
  }
  return csv;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST_F(ForecastCliTest, OneSeriesCsvContinuesTheTimestampsAndFollowsTheCycle) {
  const std::string in = Write("cpu.csv", "timestamp,value\n" + Hourly());
  CliResult r = Run("forecast '" + in + "' --horizon 24");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 25u) << r.out;
  EXPECT_EQ(lines[0], "timestamp,yhat,yhat_lower,yhat_upper");
  // Three weeks of hours end at 2026-11-21 23:00; the forecast starts one step later.
  EXPECT_EQ(lines[1].substr(0, 20), "2026-11-22 00:00:00,");
  EXPECT_EQ(lines[24].substr(0, 20), "2026-11-22 23:00:00,");
  for (int k = 1; k <= 24; ++k) {
    double yhat, lo, hi;
    ASSERT_EQ(std::sscanf(lines[k].c_str() + 20, "%lf,%lf,%lf", &yhat, &lo, &hi), 3) << lines[k];
    const double truth = 50 + 10 * std::sin(6.283185307179586 * (24 * 21 + k - 1) / 24);
    EXPECT_NEAR(yhat, truth, 0.5) << lines[k];
    EXPECT_LE(lo, yhat);
    EXPECT_GE(hi, yhat);
  }
  EXPECT_NE(r.err.find("504 rows, step 3600 s"), std::string::npos) << r.err;
}

TEST_F(ForecastCliTest, LongLayoutJsonLinesForecastsEverySeries) {
  std::string csv = "series,timestamp,value\n" + Hourly("low") + Hourly("high", 1000);
  const std::string in = Write("many.csv", csv);
  CliResult r = Run("forecast '" + in + "' --horizon 3 --format jsonl -q");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  for (int i = 0; i < 6; ++i) {
    const nlohmann::json j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["series"], i < 3 ? "low" : "high");
    const double yhat = j["yhat"];
    EXPECT_NEAR(yhat, i < 3 ? 50 : 1050, 11) << lines[i];
    EXPECT_LE(j["yhat_lower"].get<double>(), yhat);
    EXPECT_GE(j["yhat_upper"].get<double>(), yhat);
  }
  EXPECT_EQ(nlohmann::json::parse(lines[0])["timestamp"], "2026-11-22 00:00:00");
}

TEST_F(ForecastCliTest, LongLayoutCsvHasASeriesColumnAndReadsStdin) {
  CliResult r =
      Shell("printf 'series,timestamp,value\\n" + std::string("a,60,1\\na,120,2\\na,180,1\\n") +
            "' | '" + BACKSIGHT_BIN + "' forecast - --horizon 2 -q");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "series,timestamp,yhat,yhat_lower,yhat_upper");
  EXPECT_EQ(lines[1].substr(0, 22), "a,1970-01-01 00:04:00,");
  EXPECT_EQ(lines[2].substr(0, 22), "a,1970-01-01 00:05:00,");
}

TEST_F(ForecastCliTest, BadRowsAreNamedByFileAndLineExit3) {
  struct Case {
    std::string csv, want;
  } cases[] = {
      {"timestamp,value\n60,1\n120,abc\n", "bad.csv:3: value 'abc' is not a finite number"},
      {"timestamp,value\n60,1\nnot-a-time,2\n", "bad.csv:3: bad timestamp 'not-a-time'"},
      {"timestamp,value\n60,1\n120,2,3\n", "bad.csv:3: expected 2 fields, got 3"},
      {"series,timestamp,value\na,60,1\nb,60,1\na,60,2\n",
       "bad.csv:4: timestamp 1970-01-01 00:01:00 is not after the previous one (1970-01-01 "
       "00:01:00) of series 'a'"},
      {"timestamp,value\n60,1\n", "bad.csv:2: series has one row"},
      {"timestamp,value\n", "bad.csv: no data rows after the header"},
      {"timestamp,value\n60,\"1\n", "bad.csv:2: "},
      {"a,b,c,d\n1,2,3,4\n", "bad.csv:1: expected a header"},
  };
  for (const Case& c : cases) {
    const std::string in = Write("bad.csv", c.csv);
    CliResult r = Run("forecast '" + in + "' --horizon 2");
    EXPECT_EQ(r.rc, 3) << c.csv;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
  }
}

TEST_F(ForecastCliTest, UsageAndIoErrors) {
  const std::string in = Write("ok.csv", "timestamp,value\n" + Hourly());
  EXPECT_EQ(Run("forecast '" + in + "'").rc, 2);  // --horizon is required
  EXPECT_EQ(Run("forecast '" + in + "' --horizon 0").rc, 2);
  EXPECT_EQ(Run("forecast '" + in + "' --horizon 2 --format xml").rc, 2);
  EXPECT_EQ(Run("forecast '" + in + "' --horizon 2 --plot out.gif").rc, 2);
  CliResult r = Run("forecast '" + dir_ + "/missing.csv' --horizon 2");
  EXPECT_EQ(r.rc, 4);
  EXPECT_NE(r.err.find("missing.csv"), std::string::npos) << r.err;
}

TEST_F(ForecastCliTest, PlotIsWrittenAsSvg) {
  const std::string in = Write("cpu.csv", "timestamp,value\n" + Hourly());
  CliResult r = Run("forecast '" + in + "' --horizon 48 -q --plot '" + dir_ + "/f.svg' -o '" +
                    dir_ + "/f.csv'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Lines(ReadWholeFile(dir_ + "/f.csv")).size(), 49u);
  EXPECT_NE(ReadWholeFile(dir_ + "/f.svg").find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace backsight::testing
