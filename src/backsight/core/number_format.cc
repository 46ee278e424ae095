#include "backsight/core/number_format.h"

#include <charconv>
#include <cmath>

namespace backsight {

void AppendDouble(double v, std::string* out, int significant_digits) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];  // longest shortest-form double is 24 characters (-2.2250738585072014e-308)
    const std::to_chars_result r =
        significant_digits > 0 ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general,
                                               significant_digits)
                               : std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, r.ptr);
  }
}

std::string FormatDouble(double v, int significant_digits) {
  std::string s;
  AppendDouble(v, &s, significant_digits);
  return s;
}

}  // namespace backsight
