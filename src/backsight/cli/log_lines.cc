#include "backsight/cli/log_lines.h"

#include <cstdio>

#include "backsight/cli/commands.h"
#include "backsight/core/line_reader.h"

namespace backsight::cli {

int LogLines::Read(const std::string& path,
                   const std::function<Status(const std::string&)>& parse) {
  LineReader reader;
  Status st = reader.Open(path);
  if (!st.ok()) {
    std::fprintf(stderr, "backsight %s: %s\n", command_.c_str(), st.message().c_str());
    return kExitBadInput;  // an unreadable log is bad input (issue 13)
  }
  const std::string name = path == "-" ? "<stdin>" : path;
  uint64_t line_no = 0;
  while (reader.Next(&line_)) {
    ++line_no;
    if (line_.empty()) continue;
    ++lines_;
    st = parse(line_);
    if (!st.ok()) {
      if (++malformed_ <= kMaxShown) {
        std::fprintf(stderr, "%s:%llu: %s\n", name.c_str(),
                     static_cast<unsigned long long>(line_no), st.message().c_str());
      }
      if (strict_) return kExitBadInput;
    }
  }
  if (!reader.status().ok()) {
    std::fprintf(stderr, "backsight %s: %s\n", command_.c_str(), reader.status().message().c_str());
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace backsight::cli
