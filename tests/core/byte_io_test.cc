#include "backsight/core/byte_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace backsight {

TEST(ByteIoTest, RoundTripsExactly) {
  std::string buf;
  ByteWriter w(&buf);
  w.PutU8(7);
  w.PutU32(0xdeadbeef);
  w.PutI64(-42);
  w.PutDouble(-0.0);
  w.PutDouble(std::numeric_limits<double>::quiet_NaN());
  w.PutVarint(300);
  w.PutString("hello");
  ByteReader r(buf);
  uint8_t u8;
  uint32_t u32;
  int64_t i64;
  double d1, d2;
  uint64_t v;
  std::string s;
  ASSERT_TRUE(r.GetU8(&u8, "a").ok());
  ASSERT_TRUE(r.GetU32(&u32, "b").ok());
  ASSERT_TRUE(r.GetI64(&i64, "c").ok());
  ASSERT_TRUE(r.GetDouble(&d1, "d").ok());
  ASSERT_TRUE(r.GetDouble(&d2, "e").ok());
  ASSERT_TRUE(r.GetVarint(&v, "f").ok());
  ASSERT_TRUE(r.GetString(&s, "g").ok());
  EXPECT_TRUE(r.done());
  EXPECT_EQ(u8, 7);
  EXPECT_EQ(u32, 0xdeadbeefu);
  EXPECT_EQ(i64, -42);
  EXPECT_TRUE(std::signbit(d1));
  EXPECT_TRUE(std::isnan(d2));
  EXPECT_EQ(v, 300u);
  EXPECT_EQ(s, "hello");
}

TEST(ByteIoTest, TruncationIsCorruptionWithOffset) {
  std::string buf;
  ByteWriter(&buf).PutU64(1);
  buf.pop_back();
  ByteReader r(buf);
  uint64_t v;
  Status s = r.GetU64(&v, "count");
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("count"), std::string::npos);
  EXPECT_NE(s.message().find("byte 0"), std::string::npos);
}

TEST(ByteIoTest, StateHeaderChecksMagicThenVersion) {
  std::string buf;
  ByteWriter w(&buf);
  w.PutU32(0x4d4c5342);
  w.PutU32(2);
  EXPECT_TRUE(ByteReader(buf).GetStateHeader(0x4d4c5342, 2, "miner state").ok());
  const Status bad_magic = ByteReader(buf).GetStateHeader(0x11111111, 2, "miner state");
  EXPECT_EQ(bad_magic.code(), Status::Code::kCorruption);
  EXPECT_EQ(bad_magic.message(), "miner state: bad magic at byte 0");
  const Status old = ByteReader(buf).GetStateHeader(0x4d4c5342, 3, "miner state");
  EXPECT_EQ(old.code(), Status::Code::kCorruption);
  EXPECT_NE(old.message().find("unsupported version 2 (this build reads version 3)"),
            std::string::npos)
      << old.message();
}

}  // namespace backsight
