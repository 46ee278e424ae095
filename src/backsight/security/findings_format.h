// Output of `backsight security`: findings as TSV (the websec scorer's input), JSON or text.
#ifndef BACKSIGHT_SECURITY_FINDINGS_FORMAT_H_
#define BACKSIGHT_SECURITY_FINDINGS_FORMAT_H_

#include <string>
#include <vector>

#include "backsight/security/analyzer.h"

namespace backsight::security {

enum class FindingsFormat { kTsv, kJson, kText };

/// TSV: header `source_ip\tstart_ts\tend_ts\tkind\tscore\tevidence` then one row per finding
/// (epoch seconds); JSON: an array of objects with the same keys; text: one line per finding
/// with RFC 3339 times. Empty string (no header either) when there is no finding.
std::string FormatFindings(const std::vector<Finding>& findings, FindingsFormat format);

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_FINDINGS_FORMAT_H_
