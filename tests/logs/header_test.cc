#include "backsight/logs/header.h"

#include <gtest/gtest.h>

#include <string>

namespace backsight::logs {
namespace {

TEST(HeaderLayoutTest, LoghubHdfsLayout) {
  HeaderLayout h;
  ASSERT_TRUE(HeaderLayout::Parse("<Date> <Time> <Pid> <Level> <Component>: <Content>", &h).ok());
  HeaderFields f;
  ASSERT_TRUE(
      h.Match("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 "
              "for block blk_38 terminating",
              &f));
  EXPECT_EQ(f.values[h.content_index()], "PacketResponder 1 for block blk_38 terminating");
  EXPECT_EQ(f.values[h.level_index()], "INFO");
  EXPECT_EQ(f.values[h.FieldIndex("component")], "dfs.DataNode$PacketResponder");
  EXPECT_FALSE(h.Match("not a log line", &f));
}

TEST(HeaderLayoutTest, EscapesAndSpaceRuns) {
  HeaderLayout h;
  ASSERT_TRUE(
      HeaderLayout::Parse("<Date> <Day> <Time> <Component> sshd\\[<Pid>\\]: <Content>", &h).ok());
  HeaderFields f;
  ASSERT_TRUE(h.Match("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster", &f));
  EXPECT_EQ(f.values[h.FieldIndex("Pid")], "24200");
  EXPECT_EQ(f.values[h.content_index()], "Invalid user webmaster");
  ASSERT_TRUE(h.Match("Dec  10   06:55:46 LabSZ sshd[1]: x", &f));  // runs of spaces
  EXPECT_EQ(f.values[h.FieldIndex("Day")], "10");
}

TEST(HeaderLayoutTest, OptionalGroup) {
  HeaderLayout h;
  ASSERT_TRUE(HeaderLayout::Parse("<Host> <Comp>(\\[<Pid>\\])?: <Content>", &h).ok());
  HeaderFields f;
  ASSERT_TRUE(h.Match("web1 cron[12]: job done", &f));
  EXPECT_EQ(f.values[h.FieldIndex("Comp")], "cron");
  EXPECT_EQ(f.values[h.FieldIndex("Pid")], "12");
  ASSERT_TRUE(h.Match("web1 kernel: oops", &f));
  EXPECT_EQ(f.values[h.FieldIndex("Comp")], "kernel");
  EXPECT_EQ(f.values[h.FieldIndex("Pid")], "");
  EXPECT_EQ(f.values[h.content_index()], "oops");
}

TEST(HeaderLayoutTest, BadLayoutsNameTheByte) {
  HeaderLayout h;
  Status st = HeaderLayout::Parse("<Date> <Content", &h);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("byte 7"), std::string::npos) << st.message();
  EXPECT_FALSE(HeaderLayout::Parse("<A> (<Content>", &h).ok());
  EXPECT_FALSE(HeaderLayout::Parse("<A>) <Content>", &h).ok());
  EXPECT_FALSE(HeaderLayout::Parse("x+ <Content>", &h).ok());
  EXPECT_FALSE(HeaderLayout::Parse("<A> <B>", &h).ok());  // no Content
  EXPECT_FALSE(HeaderLayout::Parse("<A> <A> <Content>", &h).ok());
  EXPECT_FALSE(HeaderLayout::Parse("<> <Content>", &h).ok());
  EXPECT_FALSE(HeaderLayout::Parse("<Content>\\", &h).ok());
  EXPECT_FALSE(HeaderLayout::Parse(std::string(5000, 'x') + "<Content>", &h).ok());
}

TEST(HeaderLayoutTest, Presets) {
  HeaderLayout h;
  HeaderFields f;
  ASSERT_TRUE(HeaderLayout::Preset("raw", &h).ok());
  ASSERT_TRUE(h.Match("  anything goes ", &f));
  EXPECT_EQ(f.values[h.content_index()], "anything goes");

  ASSERT_TRUE(HeaderLayout::Preset("syslog", &h).ok());
  ASSERT_TRUE(h.Match("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown", &f));
  EXPECT_EQ(f.values[h.FieldIndex("Component")], "sshd(pam_unix)");
  EXPECT_EQ(f.values[h.content_index()], "check pass; user unknown");

  ASSERT_TRUE(HeaderLayout::Preset("json", &h).ok());
  ASSERT_TRUE(h.Match(R"({"ts":"2024-01-01T00:00:00Z","level":"error","msg":"disk full"})", &f));
  EXPECT_EQ(f.values[h.content_index()], "disk full");
  EXPECT_EQ(f.values[h.level_index()], "error");
  EXPECT_FALSE(h.Match("{not json", &f));
  EXPECT_FALSE(h.Match(R"({"level":"info"})", &f));  // no message field

  EXPECT_FALSE(HeaderLayout::Preset("nope", &h).ok());
}

TEST(HeaderLayoutTest, PathologicalLineEndsWithoutMatch) {
  HeaderLayout h;
  ASSERT_TRUE(HeaderLayout::Parse("<A> <B> <C> <D> <E> <F> x <Content> y", &h).ok());
  std::string line;
  for (int i = 0; i < 3000; ++i) line += "a ";
  HeaderFields f;
  EXPECT_FALSE(h.Match(line, &f));  // step budget spent, reported as unmatched
}

}  // namespace
}  // namespace backsight::logs
