#include "backsight/core/labels.h"

#include <gtest/gtest.h>

namespace backsight {
namespace {

TEST(LabelsTest, EscapesAsTheTextFormat) {
  std::string s;
  AppendEscaped("x\"y\\z\n", /*quote=*/true, &s);
  EXPECT_EQ(s, "x\\\"y\\\\z\\n");
  s.clear();
  AppendEscaped("x\"y\\z\n", /*quote=*/false, &s);  // HELP text keeps its quotes
  EXPECT_EQ(s, "x\"y\\\\z\\n");
}

TEST(LabelsTest, LabelSetSkipsTheNameAndIsEmptyWithoutLabels) {
  std::string s;
  AppendLabelSet({{"__name__", "up"}, {"a", "x\"y\\z\n"}, {"b", ""}}, &s);
  EXPECT_EQ(s, "{a=\"x\\\"y\\\\z\\n\",b=\"\"}");
  s.clear();
  AppendLabelSet({{"__name__", "up"}}, &s);
  EXPECT_EQ(s, "");
  EXPECT_EQ(LabelsToString({{"__name__", "up"}, {"job", "node"}}), "up{job=\"node\"}");
  EXPECT_EQ(LabelsToString({{"__name__", "up"}}), "up");
}

TEST(LabelsTest, FingerprintIsSixteenLowercaseHexDigits) {
  EXPECT_EQ(FormatFingerprint(0xabc), "0000000000000abc");
  EXPECT_EQ(FormatFingerprint(0xFEDCBA9876543210ull), "fedcba9876543210");
  EXPECT_EQ(FormatFingerprint(0), "0000000000000000");
}

}  // namespace
}  // namespace backsight
