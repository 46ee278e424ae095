#include "backsight/logs/masker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace backsight::logs {
namespace {

std::string Mask(std::string_view t) {
  std::string out;
  MaskToken(t, &out);
  return out;
}

TEST(MaskTokenTest, NumbersAndIds) {
  EXPECT_EQ(Mask("1234"), "<*>");
  EXPECT_EQ(Mask("-42"), "<*>");
  EXPECT_EQ(Mask("blk_-6952295868487656571"), "<*>");
  EXPECT_EQ(Mask("blk_38865049064139660"), "<*>");
  EXPECT_EQ(Mask("0x7fed806eb5d"), "<*>");
  EXPECT_EQ(Mask("appattempt_1445144423722_0020_000001"), "<*>");
}

TEST(MaskTokenTest, AddressesPathsUuidsTimes) {
  EXPECT_EQ(Mask("10.251.73.220:50010"), "<*>:<*>");
  EXPECT_EQ(Mask("/10.10.34.11:45307"), "<*>:<*>");
  EXPECT_EQ(Mask("/etc/httpd/conf/workers2.properties"), "<*>");
  EXPECT_EQ(Mask("{d16d444c-56d8-11d5-882d-0080c847b195}"), "{<*>}");
  EXPECT_EQ(Mask("2016-09-28"), "<*>");  // the tail of a dotted/dashed value is absorbed
  EXPECT_EQ(Mask("MSRA-SA-39.fareast.corp.com"), "MSRA-SA-<*>");
  EXPECT_EQ(Mask("20:30:31.455"), "<*>:<*>:<*>");
  EXPECT_EQ(Mask("node-246"), "node-<*>");
  EXPECT_EQ(Mask("hdfs://10.10.34.11:9000/pjhe/logs/2kSOSP.log:21876+7292"), "hdfs://<*>");
  EXPECT_EQ(Mask(":[akka.tcp://sys@mesos-slave-07:55904]"), ":[akka.tcp://<*>]");
}

TEST(MaskTokenTest, KeyValuesAndBooleans) {
  EXPECT_EQ(Mask("(HWID=1973)"), "(HWID=<*>)");
  EXPECT_EQ(Mask("uid=0"), "uid=<*>");
  EXPECT_EQ(Mask("true"), "<*>");
  EXPECT_EQ(Mask("flags=false,"), "flags=<*>,");
  EXPECT_EQ(Mask("tty=ssh"), "tty=ssh");
}

TEST(MaskTokenTest, WordsWithOneDigitStay) {
  EXPECT_EQ(Mask("ssh2"), "ssh2");
  EXPECT_EQ(Mask("jk2_init()"), "jk2_init()");
  EXPECT_EQ(Mask("L3"), "L3");
  EXPECT_EQ(Mask("PacketResponder"), "PacketResponder");
}

TEST(MaskMessageTest, SplitsMasksAndCaps) {
  std::string arena;
  std::vector<uint32_t> off;
  ASSERT_EQ(MaskMessage("  Received block blk_12 of size 67108864 ", 100, &arena, &off), 6u);
  EXPECT_EQ(arena, "Received block <*> of size <*> ");
  ASSERT_EQ(off.size(), 7u);
  EXPECT_EQ(arena.substr(off[2], off[3] - off[2] - 1), "<*>");
  ASSERT_EQ(MaskMessage("a b c d e", 3, &arena, &off), 3u);
  EXPECT_EQ(arena, "a b <*> ");
  ASSERT_EQ(MaskMessage("", 3, &arena, &off), 0u);
  EXPECT_EQ(off.size(), 1u);
}

TEST(CorrectTemplateTest, EachRule) {
  EXPECT_EQ(CorrectTemplate("  a \t b  "), "a b");                        // DS
  EXPECT_EQ(CorrectTemplate("open /var/log/x.log now"), "open <*> now");  // PS
  EXPECT_EQ(CorrectTemplate("flag TRUE null"), "flag <*> <*>");           // BL, US
  EXPECT_EQ(CorrectTemplate("took 123 ms"), "took <*> ms");               // DG
  EXPECT_EQ(CorrectTemplate("id blk_<*>"), "id <*>");                     // WV
  EXPECT_EQ(CorrectTemplate("at <*>.<*>.<*>"), "at <*>");                 // DV
  EXPECT_EQ(CorrectTemplate("<*><*> x"), "<*> x");                        // CV
  EXPECT_EQ(CorrectTemplate("<*>/<*>"), "<*>/<*>");
  EXPECT_EQ(CorrectTemplate("v<*>:<*> (x=1)"), "<*>:<*> (x=<*>)");
}

TEST(CorrectTemplateTest, Idempotent) {
  for (const char* t : {"a <*>.<*> b", "x=/a/b, y", "Got 1.2.3.4:5 from <*>"}) {
    std::string once = CorrectTemplate(t);
    EXPECT_EQ(CorrectTemplate(once), once) << t;
  }
}

TEST(HashBytesTest, StableAndSpread) {
  EXPECT_EQ(HashBytes("abc"), HashBytes("abc"));
  EXPECT_NE(HashBytes("abc"), HashBytes("abd"));
  EXPECT_NE(HashBytes(""), HashBytes(std::string_view("\0", 1)));
}

}  // namespace
}  // namespace backsight::logs
