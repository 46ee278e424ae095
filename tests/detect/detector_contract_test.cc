#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backsight/detect/default_detector.h"

namespace backsight::detect {

TEST(DetectorContractTest, RejectsNonFiniteAndOutOfOrderWithoutChangingState) {
  auto d = MakeDefaultDetector();
  DetectionResult r;
  ASSERT_TRUE(d->Update(10, 1.0, &r).ok());
  EXPECT_EQ(d->Update(20, std::numeric_limits<double>::quiet_NaN(), &r).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(d->Update(20, INFINITY, &r).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(d->Update(10, 1.0, &r).code(), Status::Code::kOutOfRange);
  EXPECT_EQ(d->Update(5, 1.0, &r).code(), Status::Code::kOutOfRange);
  const auto& st = d->stats();
  EXPECT_EQ(st.accepted, 1u);
  EXPECT_EQ(st.rejected[static_cast<int>(RejectReason::kNonFiniteValue)], 2u);
  EXPECT_EQ(st.rejected[static_cast<int>(RejectReason::kDuplicateTimestamp)], 1u);
  EXPECT_EQ(st.rejected[static_cast<int>(RejectReason::kOutOfOrder)], 1u);
  ASSERT_TRUE(d->Update(20, 1.0, &r).ok());
  EXPECT_EQ(d->stats().accepted, 2u);
}

}  // namespace backsight::detect
