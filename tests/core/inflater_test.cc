#include "backsight/core/inflater.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace backsight {
namespace {

// `text` compressed by zlib's deflate: a gzip member (gzip = true) or a zlib stream.
std::string Compress(const std::string& text, bool gzip = true) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Inflater::Options Opts(Inflater::Framing framing, uint64_t max_output = Inflater::kNoLimit) {
  Inflater::Options o;
  o.framing = framing;
  o.max_output = max_output;
  o.name = "in.gz";
  o.limit_name = "test.cap";
  return o;
}

TEST(InflaterTest, MembersFedByteByByteAndZlibStreams) {
  std::string out;
  Inflater inf(Opts(Inflater::Framing::kGzipOrZlib));
  const std::string two = Compress("abc") + Compress("def");  // two gzip members
  for (char ch : two) ASSERT_TRUE(inf.Feed(std::string_view(&ch, 1), &out).ok());
  EXPECT_TRUE(inf.Finish().ok());
  EXPECT_EQ(out, "abcdef");
  EXPECT_EQ(inf.produced(), 6u);
  EXPECT_EQ(inf.consumed(), two.size());

  Inflater z(Opts(Inflater::Framing::kGzipOrZlib));
  out.clear();
  ASSERT_TRUE(z.Feed(Compress("zlib wrapped", false), &out).ok());
  EXPECT_TRUE(z.Finish().ok());
  EXPECT_EQ(out, "zlib wrapped");
}

TEST(InflaterTest, TruncationAndGarbageNameTheOffset) {
  std::string out;
  const std::string z = Compress("hello");
  {
    Inflater inf(Opts(Inflater::Framing::kGzip));
    ASSERT_TRUE(inf.Feed(std::string_view(z).substr(0, z.size() - 4), &out).ok());
    const Status st = inf.Finish();
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(st.reason(), Reason::kCompression);
    EXPECT_NE(st.message().find("in.gz: byte offset " + std::to_string(z.size() - 4) +
                                ": truncated: gzip stream ended before its trailer"),
              std::string::npos)
        << st.message();
  }
  {
    Inflater inf(Opts(Inflater::Framing::kGzipOrZlib));
    EXPECT_FALSE(inf.Finish().ok());  // no input at all
    const Status st = inf.Feed("garbage!", &out);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(st.message().find("in.gz: byte offset"), std::string::npos) << st.message();
    EXPECT_FALSE(inf.Finish().ok());  // the error stays
  }
}

TEST(InflaterTest, GzipFramingSkipsZeroPaddingAndRefusesTrailingData) {
  const std::string z = Compress("padded");
  std::string out;
  {
    Inflater inf(Opts(Inflater::Framing::kGzip));
    ASSERT_TRUE(inf.Feed(z + std::string(100, '\0'), &out).ok());
    EXPECT_TRUE(inf.Finish().ok());
    EXPECT_EQ(out, "padded");
  }
  {
    Inflater inf(Opts(Inflater::Framing::kGzip));
    out.clear();
    const Status st = inf.Feed(z + std::string(3, '\0') + "junk", &out);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(st.message().find("byte offset " + std::to_string(z.size() + 3) +
                                ": unexpected data after the end of the gzip stream"),
              std::string::npos)
        << st.message();
  }
}

TEST(InflaterTest, OutputCapStopsABomb) {
  const std::string bomb = Compress(std::string(10'000'000, '\0'));
  Inflater inf(Opts(Inflater::Framing::kGzipOrZlib, 100'000));
  std::string out;
  const Status st = inf.Feed(bomb, &out);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(st.reason(), Reason::kTooLarge);
  EXPECT_NE(st.message().find("test.cap (100000 bytes)"), std::string::npos) << st.message();
  EXPECT_LE(out.size(), 100'000u);
  EXPECT_LT(inf.produced(), 200'000u);  // stopped within one block of the cap
}

TEST(InflaterTest, BytesBeforeABadChecksumAreDeliveredThenTheError) {
  const std::string text(50'000, 'x');
  std::string z = Compress(text);
  z[z.size() - 8] = static_cast<char>(z[z.size() - 8] ^ 0x55);  // CRC-32 of the trailer
  Inflater inf(Opts(Inflater::Framing::kGzip));
  inf.SetInput(z);
  std::string out;
  char buf[1000];
  Status st;
  for (;;) {
    size_t n = 0;
    st = inf.Inflate(buf, sizeof buf, &n);
    out.append(buf, n);
    if (!st.ok() || n == 0) break;
  }
  EXPECT_EQ(out, text);
  EXPECT_NE(
      st.message().find("byte offset " + std::to_string(z.size() - 4) + ": incorrect data check"),
      std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace backsight
