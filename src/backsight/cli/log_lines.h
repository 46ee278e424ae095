// The line loop of the commands that judge log files line by line (`backsight api infer`,
// `backsight security`): each non-empty line goes to the command's parser; a line it refuses is
// malformed, counted, and printed as `file:line: reason` (the first kMaxShown only: a log of
// another format would otherwise print every line); with --strict the first one stops the run.
#ifndef BACKSIGHT_CLI_LOG_LINES_H_
#define BACKSIGHT_CLI_LOG_LINES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "backsight/core/status.h"

namespace backsight::cli {

/// Reads log files for one command run and keeps its line counts across the files.
class LogLines {
 public:
  /// Malformed lines printed with file:line before only their count is kept.
  static constexpr uint64_t kMaxShown = 10;

  /// `command` names the command in error messages ("backsight <command>: reason"); with
  /// `strict` the first malformed line ends the run.
  LogLines(std::string command, bool strict) : command_(std::move(command)), strict_(strict) {}

  /// Passes every non-empty line of `path` ("-" = stdin, named "<stdin>"; gzip read as is, see
  /// core/line_reader.h) to `parse`, in order; a line `parse` returns an error for is malformed.
  /// Returns kExitOk, or kExitBadInput after printing why on stderr: `path` cannot be opened or
  /// read, its gzip stream is corrupt, or a line is malformed and `strict` is set.
  int Read(const std::string& path, const std::function<Status(const std::string&)>& parse);

  /// Non-empty lines read so far.
  uint64_t lines() const { return lines_; }
  /// Of them, malformed.
  uint64_t malformed() const { return malformed_; }

 private:
  std::string command_;
  bool strict_;
  std::string line_;  // reused line buffer
  uint64_t lines_ = 0, malformed_ = 0;
};

}  // namespace backsight::cli

#endif  // BACKSIGHT_CLI_LOG_LINES_H_
