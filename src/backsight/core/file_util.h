// Small file-system helpers shared by the library, the benchmarks and the tests.
#ifndef BACKSIGHT_CORE_FILE_UTIL_H_
#define BACKSIGHT_CORE_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight {

/// Reads the whole file at `path` (bytes, no newline translation) into *out.
/// Returns IoError naming the path when it cannot be opened or read, or is a directory
/// ("<path>: is a directory"); *out is then unchanged.
Status ReadFileToString(const std::string& path, std::string* out);

/// Replaces the file at `path` with `data` atomically: writes `<path>.tmp.<pid>`, flushes it to
/// disk (fsync), then renames it over `path`, so a crash at any point leaves either the old file or
/// the new one whole, never a truncated mix. Returns IoError naming the path and the system's
/// reason when any step fails (the temporary file is then removed).
Status WriteFileAtomically(const std::string& path, std::string_view data);

/// Root of the benchmark corpora: $BACKSIGHT_DATA when set and non-empty, else "../shared/data"
/// (relative to the working directory). Does not check that it exists.
std::string DataDir();

}  // namespace backsight

#endif  // BACKSIGHT_CORE_FILE_UTIL_H_
