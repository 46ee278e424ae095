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

}  // namespace backsight
