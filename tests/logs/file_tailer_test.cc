// FileTailer on real files in a temporary directory: appends, partial lines, long lines, rotation
// by rename, copytruncate, a missing file, restore after restart (also across a rotation), the
// read bound, and the position encoding.
#include "backsight/logs/file_tailer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backsight/core/line_reader.h"

namespace backsight::logs {
namespace {

class TailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "backsight_tail_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/app.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& text, const std::string& path = "") {
    std::ofstream(path.empty() ? path_ : path, std::ios::app | std::ios::binary) << text;
  }
  // Polls until nothing more is read now; the lines read.
  std::vector<std::string> Drain(FileTailer* t) {
    std::vector<std::string> out;
    bool more = true;
    for (int i = 0; more && i < 100; ++i) {
      Status st = t->Poll(
          [&](std::span<const std::string_view> lines) {
            for (auto l : lines) out.emplace_back(l);
          },
          &more);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    return out;
  }
  using V = std::vector<std::string>;
  std::string dir_, path_;
};

TEST_F(TailerTest, ReadsAppendedLinesAndWaitsForTheNewline) {
  FileTailer t(path_);
  EXPECT_EQ(Drain(&t), V{});  // missing: retried, not an error
  EXPECT_EQ(t.stats().missing, 1u);
  Append("one\ntwo\r\nthr");
  EXPECT_EQ(Drain(&t), (V{"one", "two"}));
  EXPECT_EQ(t.position().offset, 9u);  // just past "two\r\n"
  Append("ee\nfour\n");
  EXPECT_EQ(Drain(&t), (V{"three", "four"}));
  EXPECT_EQ(t.position().offset, 20u);
  EXPECT_EQ(t.stats().lines, 4u);
}

TEST_F(TailerTest, CutsLongLinesAndSkipsTheirRest) {
  FileTailer t(path_);
  const std::string big(LineReader::kMaxLineBytes + 10, 'x');
  Append(big + "\nafter\n");
  const V got = Drain(&t);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].size(), LineReader::kMaxLineBytes);
  EXPECT_EQ(got[1], "after");
  EXPECT_EQ(t.stats().long_lines, 1u);
}

TEST_F(TailerTest, ReadIsBoundedPerPoll) {
  FileTailerOptions o;
  o.max_read_bytes = 8;
  FileTailer t(path_, o);
  Append("aaa\nbbb\nccc\n");
  bool more = false;
  V got;
  ASSERT_TRUE(t.Poll(
                   [&](std::span<const std::string_view> lines) {
                     for (auto l : lines) got.emplace_back(l);
                   },
                   &more)
                  .ok());
  EXPECT_TRUE(more);
  EXPECT_EQ(got, (V{"aaa", "bbb"}));
  EXPECT_EQ(Drain(&t), V{"ccc"});
}

TEST_F(TailerTest, FollowsRotationByRenameFinishingTheOldFile) {
  FileTailer t(path_);
  Append("a1\n");
  EXPECT_EQ(Drain(&t), V{"a1"});
  Append("a2\na3-no-newline");  // written before the rotation, not yet read
  std::filesystem::rename(path_, path_ + ".1");
  EXPECT_EQ(Drain(&t), (V{"a2"}));  // no new file yet: keeps following the renamed one
  Append("b1\nb2\n");               // the new file
  EXPECT_EQ(Drain(&t), (V{"a3-no-newline", "b1", "b2"}));
  EXPECT_EQ(t.stats().rotations, 1u);
  Append("b3\n");
  EXPECT_EQ(Drain(&t), V{"b3"});
}

TEST_F(TailerTest, ADeletedFileIsFinishedAndClosed) {
  FileTailer t(path_);
  Append("x1\nx2-cut");
  EXPECT_EQ(Drain(&t), V{"x1"});
  std::filesystem::remove(path_);
  EXPECT_EQ(Drain(&t), V{"x2-cut"});
  EXPECT_FALSE(t.is_open());  // its disk space is freed
  EXPECT_EQ(t.stats().deleted, 1u);
  Append("y1\n");  // the path comes back
  EXPECT_EQ(Drain(&t), V{"y1"});
}

TEST_F(TailerTest, CopyTruncateRestartsAtZero) {
  FileTailer t(path_);
  Append("first line of a long file\nsecond\n");
  EXPECT_EQ(Drain(&t), (V{"first line of a long file", "second"}));
  std::filesystem::resize_file(path_, 0);  // logrotate copytruncate
  Append("new\n");
  EXPECT_EQ(Drain(&t), V{"new"});
  EXPECT_EQ(t.stats().truncations, 1u);
}

TEST_F(TailerTest, RestoreResumesAtTheSavedOffset) {
  TailPosition saved;
  {
    FileTailer t(path_);
    Append("l1\nl2\npart");
    EXPECT_EQ(Drain(&t), (V{"l1", "l2"}));
    saved = t.position();
  }
  Append("ial\nl4\n");
  FileTailer t(path_);
  t.Restore(saved);
  EXPECT_EQ(Drain(&t), (V{"partial", "l4"}));
  EXPECT_EQ(t.stats().resumed, 1u);
}

TEST_F(TailerTest, RestoreOfAnotherFileStartsAtZero) {
  TailPosition saved;
  {
    FileTailer t(path_);
    Append("old content\n");
    Drain(&t);
    saved = t.position();
  }
  std::filesystem::remove(path_);
  Append("different\nlines\n");  // same size class, other bytes
  FileTailer t(path_);
  t.Restore(saved);
  EXPECT_EQ(Drain(&t), (V{"different", "lines"}));
  EXPECT_EQ(t.stats().resumed, 0u);
}

TEST_F(TailerTest, RestoreFinishesAFileRotatedWhileDown) {
  TailPosition saved;
  {
    FileTailer t(path_);
    Append("o1\n");
    Drain(&t);
    saved = t.position();
  }
  Append("o2\n");  // written after the checkpoint, then rotated away while down
  std::filesystem::rename(path_, path_ + ".1");
  Append("n1\n");
  FileTailer t(path_);
  t.Restore(saved);
  EXPECT_EQ(Drain(&t), (V{"o2", "n1"}));
  EXPECT_EQ(t.stats().rotations, 1u);
}

TEST(TailPosition, RoundTripsAndRefusesBadFingerprints) {
  TailPosition p{1, 2, 3000, 1024, 0xdeadbeef};
  std::string bytes;
  ByteWriter w(&bytes);
  EncodeTailPosition(p, &w);
  ByteReader r(bytes);
  TailPosition q;
  ASSERT_TRUE(DecodeTailPosition(&r, &q).ok());
  EXPECT_EQ(p, q);
  EXPECT_TRUE(r.done());
  ByteReader shortr(std::string_view(bytes).substr(0, 20));
  EXPECT_EQ(DecodeTailPosition(&shortr, &q).code(), Status::Code::kCorruption);
  // A list round-trips, also with an empty path (the shortest entry: found by the fuzz target).
  for (const auto& list : {std::vector<NamedTailPosition>{{"", p}},
                           std::vector<NamedTailPosition>{{"", p}, {"/var/log/app.log", {}}}}) {
    std::string lb;
    ByteWriter lw(&lb);
    EncodeTailPositions(list, &lw);
    ByteReader lr(lb);
    std::vector<NamedTailPosition> back;
    ASSERT_TRUE(DecodeTailPositions(&lr, &back).ok()) << list.size();
    EXPECT_EQ(back, list);
    EXPECT_TRUE(lr.done());
  }
  const std::vector<NamedTailPosition> one = {{"", p}};
  std::string lb;
  ByteWriter lw(&lb);
  EncodeTailPositions(one, &lw);
  std::vector<NamedTailPosition> back;
  lb[0] = 2;  // claims more entries than the bytes hold
  ByteReader big(lb);
  EXPECT_EQ(DecodeTailPositions(&big, &back).code(), Status::Code::kCorruption);
  p.offset = 10;  // fingerprint longer than the offset
  bytes.clear();
  EncodeTailPosition(p, &w);
  ByteReader bad(bytes);
  EXPECT_EQ(DecodeTailPosition(&bad, &q).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace backsight::logs
