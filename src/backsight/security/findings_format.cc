#include "backsight/security/findings_format.h"

#include <nlohmann/json.hpp>

#include "backsight/core/number_format.h"
#include "backsight/core/time.h"

namespace backsight::security {

std::string FormatFindings(const std::vector<Finding>& findings, FindingsFormat format) {
  if (findings.empty()) return "";
  std::string out;
  switch (format) {
    case FindingsFormat::kTsv:
      out = "source_ip\tstart_ts\tend_ts\tkind\tscore\tevidence\n";
      for (const Finding& f : findings) {
        out += f.source_ip + '\t' + std::to_string(f.start_s) + '\t' + std::to_string(f.end_s) +
               '\t' + KindName(f.kind) + '\t' + FormatDouble(f.score, 4) + '\t' + f.evidence + '\n';
      }
      return out;
    case FindingsFormat::kJson: {
      nlohmann::json arr = nlohmann::json::array();
      for (const Finding& f : findings) {
        arr.push_back({{"source_ip", f.source_ip},
                       {"start_ts", f.start_s},
                       {"end_ts", f.end_s},
                       {"kind", KindName(f.kind)},
                       {"score", f.score},
                       {"evidence", f.evidence}});
      }
      // Evidence lines are raw log bytes: invalid UTF-8 is replaced, never an exception.
      return arr.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    case FindingsFormat::kText:
      for (const Finding& f : findings) {
        out += FormatRfc3339(f.start_s * kNanosPerSecond) + " .. " +
               FormatRfc3339(f.end_s * kNanosPerSecond) + "  " + KindName(f.kind) + "  " +
               f.source_ip + "  score " + FormatDouble(f.score, 3) + "\n    " + f.evidence + "\n";
      }
      return out;
  }
  return out;
}

}  // namespace backsight::security
