#include "backsight/core/status.h"

#include <gtest/gtest.h>

namespace backsight {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::InvalidArgument("bad row");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "InvalidArgument: bad row");
  EXPECT_EQ(s.WithContext("a.csv:3").message(), "a.csv:3: bad row");
  EXPECT_TRUE(Status::OK().WithContext("x").ok());
}

TEST(StatusTest, ReasonIsTypedAndSurvivesContext) {
  EXPECT_EQ(Status::OK().reason(), Reason::kNone);
  EXPECT_EQ(Status::InvalidArgument("bad").reason(), Reason::kNone);
  const Status s = Status::InvalidArgument(Reason::kSnappy, "corrupt");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.reason(), Reason::kSnappy);
  EXPECT_EQ(s.WithContext("remote_write").reason(), Reason::kSnappy);
  EXPECT_EQ(s.WithContext("remote_write").message(), "remote_write: corrupt");
}

// Reason names are metric label values (dashboards match them): they must never change.
TEST(StatusTest, ReasonNamesAreStableLabelValues) {
  EXPECT_STREQ(ReasonName(Reason::kMalformed), "malformed");
  EXPECT_STREQ(ReasonName(Reason::kTooLarge), "too_large");
  EXPECT_STREQ(ReasonName(Reason::kUnsupportedEncoding), "content_encoding");
  EXPECT_STREQ(ReasonName(Reason::kUnsupportedMediaType), "content_type");
  EXPECT_STREQ(ReasonName(Reason::kCompression), "compression");
  EXPECT_STREQ(ReasonName(Reason::kSnappy), "snappy");
  EXPECT_STREQ(ReasonName(Reason::kUtf8), "utf8");
  EXPECT_STREQ(ReasonName(Reason::kJson), "json");
  EXPECT_STREQ(ReasonName(Reason::kLabels), "labels");
  EXPECT_STREQ(ReasonName(Reason::kTimestamp), "timestamp");
  EXPECT_STREQ(ReasonName(Reason::kNotFinite), "non_finite_value");
  EXPECT_STREQ(ReasonName(Reason::kDuplicateTimestamp), "duplicate_timestamp");
  EXPECT_STREQ(ReasonName(Reason::kOutOfOrder), "out_of_order_timestamp");
}

}  // namespace backsight
