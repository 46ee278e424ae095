// Time: Backsight keeps time as int64 nanoseconds since the Unix epoch (UTC) everywhere inside.
#ifndef BACKSIGHT_CORE_TIME_H_
#define BACKSIGHT_CORE_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight {

/// Nanoseconds since 1970-01-01T00:00:00Z.
using TimestampNs = int64_t;
inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kNanosPerMilli = 1'000'000;

/// Parses a timestamp written as ISO-8601 / RFC 3339 (`2014-07-01 00:00:00`,
/// `2014-07-01T00:00:00Z`, fractional seconds, `+02:00` offsets; no offset means UTC) or as a bare
/// epoch number. Bare numbers are interpreted by magnitude: < 1e11 seconds, < 1e14 milliseconds, <
/// 1e17 microseconds, else nanoseconds (fractional seconds allowed). Returns InvalidArgument naming
/// the offending text.
Status ParseTimestamp(std::string_view text, TimestampNs* out);

/// Same rules as ParseTimestamp, for per-line paths that only need yes/no: returns false on bad
/// text without building an error message (no allocation). *out is written only on success.
bool TryParseTimestamp(std::string_view text, TimestampNs* out);

/// Formats as `YYYY-MM-DD HH:MM:SS` (UTC), with `.ffffff` appended only if sub-second digits exist.
std::string FormatTimestamp(TimestampNs ts);

/// Appends FormatTimestamp(ts) to *out without a temporary string (for per-row output paths).
void AppendTimestamp(std::string* out, TimestampNs ts);

/// Formats as RFC 3339 `YYYY-MM-DDTHH:MM:SS(.fff)Z` (UTC).
std::string FormatRfc3339(TimestampNs ts);

}  // namespace backsight

#endif  // BACKSIGHT_CORE_TIME_H_
