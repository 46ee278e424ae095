#include "backsight/core/number_format.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace backsight {
namespace {

TEST(NumberFormatTest, ShortestRoundTripAndPrometheusSpellings) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(1e6), "1e+06");
  EXPECT_EQ(FormatDouble(-0.0), "-0");
  EXPECT_EQ(FormatDouble(42), "42");
  EXPECT_EQ(FormatDouble(std::nan("")), "NaN");
  EXPECT_EQ(FormatDouble(INFINITY), "+Inf");
  EXPECT_EQ(FormatDouble(-INFINITY), "-Inf");
  // Reads back exactly, including the extremes.
  for (double v : {0.1 + 0.2, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::denorm_min(), -2.2250738585072014e-308}) {
    const std::string s = FormatDouble(v);
    double back = 0;
    std::from_chars(s.data(), s.data() + s.size(), back);
    EXPECT_EQ(back, v) << s;
  }
}

TEST(NumberFormatTest, SignificantDigitsAsPrintfG) {
  EXPECT_EQ(FormatDouble(3.5, 6), "3.5");
  EXPECT_EQ(FormatDouble(1234567.0, 6), "1.23457e+06");
  EXPECT_EQ(FormatDouble(0.123456789, 3), "0.123");
  EXPECT_EQ(FormatDouble(-INFINITY, 6), "-Inf");
  std::string s = "x=";
  AppendDouble(2.5, &s);
  EXPECT_EQ(s, "x=2.5");
}

}  // namespace
}  // namespace backsight
