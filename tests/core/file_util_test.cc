// File helpers: whole-file reads and atomic replacement.
#include "backsight/core/file_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace backsight {
namespace {

namespace fs = std::filesystem;

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("backsight_file_util_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Names in dir_ other than `keep` (leftover temporary files).
  int OtherEntries(const std::string& keep) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename() != keep;
    return n;
  }
  fs::path dir_;
};

TEST_F(FileUtilTest, WriteFileAtomicallyCreatesAndReplacesWithoutLeftovers) {
  const std::string path = (dir_ / "state.bin").string();
  ASSERT_TRUE(WriteFileAtomically(path, std::string("first\0version", 13)).ok());
  std::string got;
  ASSERT_TRUE(ReadFileToString(path, &got).ok());
  EXPECT_EQ(got, std::string("first\0version", 13));
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  ASSERT_TRUE(ReadFileToString(path, &got).ok());
  EXPECT_EQ(got, "second");
  EXPECT_EQ(OtherEntries("state.bin"), 0);
}

TEST_F(FileUtilTest, WriteFileAtomicallyFailureNamesThePathAndKeepsTheOldFile) {
  // The target is a non-empty directory: the rename fails, and nothing is left behind.
  const fs::path target = dir_ / "taken";
  fs::create_directories(target / "inside");
  const Status st = WriteFileAtomically(target.string(), "data");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find(target.string()), std::string::npos) << st.message();
  EXPECT_TRUE(fs::is_directory(target / "inside"));
  EXPECT_EQ(OtherEntries("taken"), 0);
  // A missing parent directory: the temporary file cannot be created.
  const Status st2 = WriteFileAtomically((dir_ / "no" / "such" / "f").string(), "x");
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.message().find("cannot create"), std::string::npos) << st2.message();
}

TEST_F(FileUtilTest, ReadFileToStringSaysWhenThePathIsADirectory) {
  std::string out = "unchanged";
  const Status st = ReadFileToString(dir_.string(), &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("is a directory"), std::string::npos);
  EXPECT_EQ(out, "unchanged");
}

}  // namespace
}  // namespace backsight
