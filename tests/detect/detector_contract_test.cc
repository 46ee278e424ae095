#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backsight/detect/default_detector.h"

namespace backsight::detect {

TEST(DetectorContractTest, RejectsNonFiniteAndOutOfOrderWithoutChangingState) {
  auto d = MakeDefaultDetector();
  DetectionResult r;
  ASSERT_TRUE(d->Update(10, 1.0, &r).ok());
  // The rejection's reason is a value: the code and the typed reason.
  const Status nan = d->Update(20, std::numeric_limits<double>::quiet_NaN(), &r);
  EXPECT_EQ(nan.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(nan.reason(), Reason::kNotFinite);
  EXPECT_EQ(d->Update(20, INFINITY, &r).reason(), Reason::kNotFinite);
  const Status dup = d->Update(10, 1.0, &r);
  EXPECT_EQ(dup.code(), Status::Code::kOutOfRange);
  EXPECT_EQ(dup.reason(), Reason::kDuplicateTimestamp);
  const Status late = d->Update(5, 1.0, &r);
  EXPECT_EQ(late.code(), Status::Code::kOutOfRange);
  EXPECT_EQ(late.reason(), Reason::kOutOfOrder);
  const auto& st = d->stats();
  EXPECT_EQ(st.accepted, 1u);
  EXPECT_EQ(st.rejected[RejectIndex(Reason::kNotFinite)], 2u);
  EXPECT_EQ(st.rejected[RejectIndex(Reason::kDuplicateTimestamp)], 1u);
  EXPECT_EQ(st.rejected[RejectIndex(Reason::kOutOfOrder)], 1u);
  EXPECT_EQ(RejectIndex(Reason::kJson), -1);
  ASSERT_TRUE(d->Update(20, 1.0, &r).ok());
  EXPECT_EQ(d->stats().accepted, 2u);
}

}  // namespace backsight::detect
