#include "backsight/core/time.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace backsight {

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level
// Date Algorithms", days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yy + (*m <= 2);
}

bool ReadDigits(std::string_view s, size_t* pos, int n, int* out) {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    if (*pos >= s.size() || !std::isdigit(static_cast<unsigned char>(s[*pos]))) return false;
    v = v * 10 + (s[*pos] - '0');
    ++*pos;
  }
  *out = v;
  return true;
}

// The parsers below return nullptr on success and the reason on failure, so that callers which
// only need yes/no (TryParseTimestamp, on per-line paths) never build an error message.
const char* ParseEpoch(std::string_view text, TimestampNs* out) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
    return "not an ISO-8601 date or epoch number";
  }
  const double a = std::fabs(v);
  double ns;
  if (a < 1e11)
    ns = v * 1e9;
  else if (a < 1e14)
    ns = v * 1e6;
  else if (a < 1e17)
    ns = v * 1e3;
  else
    ns = v;
  if (std::fabs(ns) > 9.2e18) return "out of range";
  // Integer path keeps exactness for integral epoch values.
  int64_t iv = 0;
  auto [p2, ec2] = std::from_chars(text.data(), text.data() + text.size(), iv);
  if (ec2 == std::errc() && p2 == text.data() + text.size()) {
    const int64_t ia = iv < 0 ? -iv : iv;
    if (ia < 100'000'000'000LL)
      *out = iv * kNanosPerSecond;
    else if (ia < 100'000'000'000'000LL)
      *out = iv * kNanosPerMilli;
    else if (ia < 100'000'000'000'000'000LL)
      *out = iv * 1000;
    else
      *out = iv;
    return nullptr;
  }
  // Exact path for plain decimals (`1404172801.25`): integer part and fraction kept apart, since a
  // double has only ~256 ns resolution at today's epoch in nanoseconds.
  const size_t dot = text.find('.');
  if (dot != std::string_view::npos && dot > 0 &&
      text.find_first_of("eE") == std::string_view::npos) {
    int64_t ip = 0;
    const bool neg = text[0] == '-';
    auto [p3, ec3] = std::from_chars(text.data(), text.data() + dot, ip);
    if (ec3 == std::errc() && p3 == text.data() + dot) {
      const int64_t ia = ip < 0 ? -ip : ip;  // |ns| <= 9.2e18 checked above, so no overflow
      int64_t unit = 1;
      if (ia < 100'000'000'000LL)
        unit = kNanosPerSecond;
      else if (ia < 100'000'000'000'000LL)
        unit = kNanosPerMilli;
      else if (ia < 100'000'000'000'000'000LL)
        unit = 1000;
      int64_t frac = 0;
      int64_t scale = unit;
      for (size_t i = dot + 1; i < text.size(); ++i) {
        scale /= 10;
        frac += (text[i] - '0') * scale;
      }
      *out = ip * unit + (neg ? -frac : frac);
      return nullptr;
    }
  }
  *out = static_cast<int64_t>(std::llround(ns));
  return nullptr;
}

// Trims `text` in place (the caller's error message shows the trimmed text), then parses it.
const char* ParseImpl(std::string_view& text, TimestampNs* out) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  if (text.empty()) return "empty";
  // ISO form starts with YYYY-.
  if (text.size() >= 10 && text[4] == '-' && std::isdigit(static_cast<unsigned char>(text[0]))) {
    size_t pos = 0;
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!ReadDigits(text, &pos, 4, &y) || text[pos++] != '-' || !ReadDigits(text, &pos, 2, &mo) ||
        pos >= text.size() || text[pos++] != '-' || !ReadDigits(text, &pos, 2, &d)) {
      return "expected YYYY-MM-DD";
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return "month or day out of range";
    int64_t frac_ns = 0;
    int64_t offset_s = 0;
    if (pos < text.size()) {
      if (text[pos] != 'T' && text[pos] != ' ' && text[pos] != 't')
        return "expected 'T' or ' ' after date";
      ++pos;
      if (!ReadDigits(text, &pos, 2, &h) || pos >= text.size() || text[pos++] != ':' ||
          !ReadDigits(text, &pos, 2, &mi)) {
        return "expected HH:MM";
      }
      if (pos < text.size() && text[pos] == ':') {
        ++pos;
        if (!ReadDigits(text, &pos, 2, &s)) return "expected seconds";
      }
      if (h > 23 || mi > 59 || s > 60) return "time of day out of range";
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        int64_t scale = 100'000'000;
        size_t start = pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
          frac_ns += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return "empty fraction";
      }
      if (pos < text.size()) {
        char c = text[pos];
        if (c == 'Z' || c == 'z') {
          ++pos;
        } else if (c == '+' || c == '-') {
          ++pos;
          int oh, om = 0;
          if (!ReadDigits(text, &pos, 2, &oh)) return "bad UTC offset";
          if (pos < text.size() && text[pos] == ':') ++pos;
          if (pos < text.size() && !ReadDigits(text, &pos, 2, &om)) return "bad UTC offset";
          offset_s = (oh * 3600 + om * 60) * (c == '+' ? 1 : -1);
        } else if (c == ' ') {
          // Trailing " UTC" and the like.
          std::string_view rest = text.substr(pos + 1);
          if (rest != "UTC" && rest != "GMT") return "unexpected trailing text";
          pos = text.size();
        }
      }
      if (pos != text.size()) return "unexpected trailing text";
    }
    const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_s;
    // TimestampNs covers 1677-09-21 .. 2262-04-11.
    if (secs > 9'223'372'035LL || secs < -9'223'372'035LL) return "out of range";
    *out = secs * kNanosPerSecond + frac_ns;
    return nullptr;
  }
  return ParseEpoch(text, out);
}

}  // namespace

Status ParseTimestamp(std::string_view text, TimestampNs* out) {
  const char* why = ParseImpl(text, out);
  if (why == nullptr) return Status::OK();
  return Status::InvalidArgument("bad timestamp '" + std::string(text) + "': " + why);
}

bool TryParseTimestamp(std::string_view text, TimestampNs* out) {
  return ParseImpl(text, out) == nullptr;
}

// Appends the UTC date-time of `ts` with `sep` between date and time, `.ffffff` only when there
// are sub-second digits, and a trailing 'Z' if asked. Formats into a stack buffer: no allocation
// beyond the growth of *out.
static void AppendImpl(std::string* out, TimestampNs ts, char sep, bool z) {
  int64_t secs = ts / kNanosPerSecond;
  int64_t ns = ts % kNanosPerSecond;
  if (ns < 0) {
    ns += kNanosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u%c%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, sep, static_cast<long long>(sod / 3600),
                        static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  if (ns != 0) {
    n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(ns / 1000));
  }
  if (z) buf[n++] = 'Z';
  out->append(buf, n);
}

void AppendTimestamp(std::string* out, TimestampNs ts) { AppendImpl(out, ts, ' ', false); }

std::string FormatTimestamp(TimestampNs ts) {
  std::string out;
  AppendImpl(&out, ts, ' ', false);
  return out;
}

std::string FormatRfc3339(TimestampNs ts) {
  std::string out;
  AppendImpl(&out, ts, 'T', true);
  return out;
}

}  // namespace backsight
