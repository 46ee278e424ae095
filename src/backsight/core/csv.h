// CSV output shared by the command-line tools (RFC 4180).
#ifndef BACKSIGHT_CORE_CSV_H_
#define BACKSIGHT_CORE_CSV_H_

#include <string>
#include <string_view>

namespace backsight {

/// Appends one CSV field to *out, quoting it (and doubling inner quotes) when it holds a comma,
/// a quote, CR or LF (RFC 4180, section 2).
void AppendCsvField(std::string_view field, std::string* out);

}  // namespace backsight

#endif  // BACKSIGHT_CORE_CSV_H_
