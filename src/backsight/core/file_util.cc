#include "backsight/core/file_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace backsight {

Status ReadFileToString(const std::string& path, std::string* out) {
  // A directory opens as a stream on Linux and reads as empty: say what it is.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::IoError(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError("read error on " + path);
  *out = std::move(ss).str();
  return Status::OK();
}

std::string DataDir() {
  const char* env = std::getenv("BACKSIGHT_DATA");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("../shared/data");
}

}  // namespace backsight
