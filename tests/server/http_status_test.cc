#include "backsight/server/http_status.h"

#include <gtest/gtest.h>

#include "backsight/server/http_server.h"

namespace backsight::server {
namespace {

TEST(HttpStatusTest, ReasonDecidesBeforeCode) {
  EXPECT_EQ(HttpStatusFor(Status::OK()), 200);
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument(Reason::kTooLarge, "body")), 413);
  EXPECT_EQ(HttpStatusFor(Status::ResourceExhausted(Reason::kTooLarge, "inflated")), 413);
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument(Reason::kUnsupportedEncoding, "zstd")), 415);
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument(Reason::kUnsupportedMediaType, "text")), 415);
  EXPECT_EQ(HttpStatusFor(Status::ResourceExhausted(Reason::kQueueFull, "full")), 429);
  EXPECT_EQ(HttpStatusFor(Status::Unavailable(Reason::kNotConfigured, "no state_dir")), 409);
}

TEST(HttpStatusTest, CodesWithoutASpecialReason) {
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument("bad")), 400);
  for (Reason r : {Reason::kMalformed, Reason::kSnappy, Reason::kUtf8, Reason::kJson,
                   Reason::kLabels, Reason::kTimestamp, Reason::kCompression}) {
    EXPECT_EQ(HttpStatusFor(Status::InvalidArgument(r, "bad")), 400) << ReasonName(r);
  }
  EXPECT_EQ(HttpStatusFor(Status::OutOfRange(Reason::kOutOfOrder, "late")), 400);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("series")), 404);
  EXPECT_EQ(HttpStatusFor(Status::Unavailable("shutting down")), 503);
  EXPECT_EQ(HttpStatusFor(Status::Corruption("db")), 500);
  EXPECT_EQ(HttpStatusFor(Status::IoError("disk full")), 500);
  EXPECT_EQ(HttpStatusFor(Status::Internal("bug")), 500);
}

// 429 tells a client to slow down and retry: only a full ingest queue says that. A WAL write
// error (IoError), another limit, or a queue_full reason on another code is not a 429.
TEST(HttpStatusTest, OnlyAFullQueueIs429) {
  EXPECT_EQ(HttpStatusFor(Status::ResourceExhausted("in-flight bytes")), 503);
  EXPECT_EQ(HttpStatusFor(Status::IoError("write-ahead log: disk full")), 500);
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument(Reason::kQueueFull, "odd")), 400);
  for (int r = 0; r <= static_cast<int>(Reason::kOutOfOrder); ++r) {
    const Reason reason = static_cast<Reason>(r);
    if (reason == Reason::kQueueFull) continue;
    EXPECT_NE(HttpStatusFor(Status::ResourceExhausted(reason, "x")), 429) << ReasonName(reason);
    EXPECT_NE(HttpStatusFor(Status::InvalidArgument(reason, "x")), 429) << ReasonName(reason);
    EXPECT_NE(HttpStatusFor(Status::Unavailable(reason, "x")), 429) << ReasonName(reason);
  }
}

TEST(HttpStatusTest, ErrorResponseCarriesReasonAndRetryAfter) {
  HttpResponse res;
  SetErrorResponse(Status::ResourceExhausted(Reason::kQueueFull, "full"), "429: full\n",
                   "text/plain", &res);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.reason, Reason::kQueueFull);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].first, "Retry-After");
  EXPECT_EQ(res.body, "429: full\n");

  HttpResponse bad;
  SetErrorResponse(Status::InvalidArgument(Reason::kSnappy, "x"), "400 x\n", "text/plain", &bad);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.reason, Reason::kSnappy);
  EXPECT_TRUE(bad.headers.empty());
}

TEST(HttpStatusTest, TextErrorResponseNamesCodeAndMessage) {
  HttpResponse res;
  SetTextErrorResponse(Status::ResourceExhausted(Reason::kQueueFull, "engine queues full"), &res);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.body, "429: engine queues full\n");
  EXPECT_EQ(res.reason, Reason::kQueueFull);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].first, "Retry-After");
}

}  // namespace
}  // namespace backsight::server
