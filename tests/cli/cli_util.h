// Test fixture for end-to-end tests of the `backsight` binary: a scratch directory per test,
// file writing, and running the binary with its exit code, stdout and stderr captured.
#ifndef BACKSIGHT_TESTS_CLI_CLI_UTIL_H_
#define BACKSIGHT_TESTS_CLI_CLI_UTIL_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace backsight::testing {

/// Exit code (-1 if killed by a signal) and captured output of one run.
struct CliResult {
  int rc = -1;
  std::string out, err;
};

/// Whole file as bytes ("" if it cannot be read).
inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Fixture: dir_ is a fresh directory, removed after the test.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/backsight_cli_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
  }
  void TearDown() override { (void)std::system(("rm -rf '" + dir_ + "'").c_str()); }

  /// Writes `content` to dir_/name and returns the path.
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  /// Runs a shell command line, capturing stdout and stderr.
  CliResult Shell(const std::string& command) {
    const std::string out = dir_ + "/stdout.txt", err = dir_ + "/stderr.txt";
    const std::string cmd = "(" + command + ") >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    CliResult r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadWholeFile(out);
    r.err = ReadWholeFile(err);
    return r;
  }

  /// Runs `backsight <args>` (args go through sh: quote as needed).
  CliResult Run(const std::string& args) {
    return Shell(std::string("'") + BACKSIGHT_BIN + "' " + args);
  }

  std::string dir_;
};

}  // namespace backsight::testing

#endif  // BACKSIGHT_TESTS_CLI_CLI_UTIL_H_
