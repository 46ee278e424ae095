#include "backsight/core/time.h"

#include <gtest/gtest.h>

namespace backsight {

TEST(TimeTest, ParsesNabStyle) {
  TimestampNs t;
  ASSERT_TRUE(ParseTimestamp("2014-07-01 00:30:00", &t).ok());
  EXPECT_EQ(t, 1404174600LL * kNanosPerSecond);
  EXPECT_EQ(FormatTimestamp(t), "2014-07-01 00:30:00");
}

TEST(TimeTest, ParsesRfc3339WithOffsetAndFraction) {
  TimestampNs t;
  ASSERT_TRUE(ParseTimestamp("2014-07-01T02:30:00.250+02:00", &t).ok());
  EXPECT_EQ(t, 1404174600LL * kNanosPerSecond + 250 * kNanosPerMilli);
  EXPECT_EQ(FormatRfc3339(t), "2014-07-01T00:30:00.250000Z");
  ASSERT_TRUE(ParseTimestamp("2014-07-01T00:30:00Z", &t).ok());
  EXPECT_EQ(t, 1404174600LL * kNanosPerSecond);
}

TEST(TimeTest, ParsesEpochByMagnitude) {
  TimestampNs t;
  ASSERT_TRUE(ParseTimestamp("1404174600", &t).ok());
  EXPECT_EQ(t, 1404174600LL * kNanosPerSecond);
  ASSERT_TRUE(ParseTimestamp("1404174600123", &t).ok());
  EXPECT_EQ(t, 1404174600123LL * kNanosPerMilli);
  ASSERT_TRUE(ParseTimestamp("1404174600.5", &t).ok());
  EXPECT_EQ(t, 1404174600500LL * kNanosPerMilli);
}

TEST(TimeTest, RejectsGarbageWithReason) {
  TimestampNs t;
  Status s = ParseTimestamp("2014-13-01 00:00:00", &t);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("2014-13-01"), std::string::npos);
  EXPECT_FALSE(ParseTimestamp("yesterday", &t).ok());
  EXPECT_FALSE(ParseTimestamp("", &t).ok());
  EXPECT_FALSE(ParseTimestamp("2014-07-01 00:30:00xyz", &t).ok());
  EXPECT_FALSE(ParseTimestamp("nan", &t).ok());
}

}  // namespace backsight
