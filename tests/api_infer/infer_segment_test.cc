#include "backsight/analyze/api/infer_segment.h"

#include <gtest/gtest.h>

namespace backsight::api {
namespace {

TEST(InferSegmentTest, IdentifierKinds) {
  EXPECT_EQ(ClassifySegment("3"), SegmentKind::kInteger);
  EXPECT_EQ(ClassifySegment("1048576"), SegmentKind::kInteger);
  EXPECT_EQ(ClassifySegment("4b8e1c2a-4d7e-4f4e-9b1a-0c6c2b7a9f11"), SegmentKind::kUuid);
  EXPECT_EQ(ClassifySegment("2024-05-01"), SegmentKind::kDate);
  EXPECT_EQ(ClassifySegment("2024-05-01T10:00:00Z"), SegmentKind::kDate);
  EXPECT_EQ(ClassifySegment("bob@example.com"), SegmentKind::kEmail);
  EXPECT_EQ(ClassifySegment("bob%40example.com"), SegmentKind::kEmail);
  EXPECT_EQ(ClassifySegment("507f1f77bcf86cd799439011"), SegmentKind::kHex);
  EXPECT_EQ(ClassifySegment("V1StGXR8_Z5jdHi6B-myT"), SegmentKind::kToken);
  EXPECT_EQ(ClassifySegment("cus_9s6XKzkNRiz8i3"), SegmentKind::kToken);
  EXPECT_EQ(ClassifySegment("true"), SegmentKind::kBoolean);
}

TEST(InferSegmentTest, WordsStayWords) {
  for (const char* w : {"me", "new", "export", "security-score", "v2", "oauth2callback",
                        "release-2024-notes", "cafe", "2024-13-01", "deadbeef", "utf8"}) {
    EXPECT_EQ(ClassifySegment(w), SegmentKind::kWord) << w;
  }
}

TEST(InferSegmentTest, Widening) {
  EXPECT_EQ(WidenKind(SegmentKind::kInteger, SegmentKind::kInteger), SegmentKind::kInteger);
  EXPECT_EQ(WidenKind(SegmentKind::kInteger, SegmentKind::kHex), SegmentKind::kToken);
  EXPECT_EQ(WidenKind(SegmentKind::kUuid, SegmentKind::kInteger), SegmentKind::kWord);
}

TEST(IsVersionSegmentTest, UriVersions) {
  for (const char* v : {"v1", "V2", "v2.1", "v1beta1", "v2alpha", "v10"}) {
    EXPECT_TRUE(IsVersionSegment(v)) << v;
  }
  for (const char* w : {"v", "vip", "v1-x", "v1.", "version", "1", "av1", "v2Beta"}) {
    EXPECT_FALSE(IsVersionSegment(w)) << w;
  }
}

}  // namespace
}  // namespace backsight::api
