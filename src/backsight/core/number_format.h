// The one number formatter for text that leaves Backsight (exposition format, JSON, CSV, alert
// annotations, error messages).
#ifndef BACKSIGHT_CORE_NUMBER_FORMAT_H_
#define BACKSIGHT_CORE_NUMBER_FORMAT_H_

#include <string>

namespace backsight {

/// Appends `v` as text. With `significant_digits` 0: the shortest decimal that reads back to
/// exactly `v` (std::to_chars; the same digits as Go's strconv 'g' with precision -1, which
/// Prometheus prints: 0.1, 1e+06, -0). With `significant_digits` > 0: that many significant
/// digits, as printf's `%.<N>g` (3.5, 1.23457e+06). Non-finite values are spelled as in the
/// Prometheus text format: NaN, +Inf, -Inf (JSON writers check std::isfinite first).
void AppendDouble(double v, std::string* out, int significant_digits = 0);

/// AppendDouble into a new string.
std::string FormatDouble(double v, int significant_digits = 0);

}  // namespace backsight

#endif  // BACKSIGHT_CORE_NUMBER_FORMAT_H_
