#include "backsight/analyze/api/infer_segment.h"

namespace backsight::api {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Longest decimal integer that fits an int64 (19 digits); longer digit runs are tokens.
constexpr size_t kMaxIntegerDigits = 19;

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

// YYYY-MM-DD, optionally followed by 'T' or ' ' (as %20) and anything (a time).
bool IsDate(std::string_view s) {
  if (s.size() < 10) return false;
  for (size_t i = 0; i < 10; ++i) {
    if (i == 4 || i == 7 ? s[i] != '-' : !IsDigit(s[i])) return false;
  }
  const int month = (s[5] - '0') * 10 + (s[6] - '0');
  const int day = (s[8] - '0') * 10 + (s[9] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  return s.size() == 10 || s[10] == 'T' || s.substr(10, 3) == "%20";
}

bool IsEmail(std::string_view s) {
  size_t at = s.find('@');
  size_t skip = 1;
  if (at == std::string_view::npos) {
    at = s.find("%40");
    skip = 3;
  }
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view domain = s.substr(at + skip);
  const size_t dot = domain.rfind('.');
  return dot != std::string_view::npos && dot > 0 && dot + 2 <= domain.size();
}

}  // namespace

SegmentKind ClassifySegment(std::string_view s) {
  if (s.empty()) return SegmentKind::kWord;
  bool all_digits = true, all_hex = true, token_chars = true;
  size_t digits = 0, letters = 0, class_changes = 0;
  int prev_class = -1;  // 0 digit, 1 lower, 2 upper
  for (char c : s) {
    const bool d = IsDigit(c), a = IsAlpha(c);
    all_digits &= d;
    all_hex &= IsHex(c);
    token_chars &= d || a || c == '_' || c == '-';
    digits += d;
    letters += a;
    if (d || a) {
      const int cls = d ? 0 : (c >= 'a' ? 1 : 2);
      class_changes += prev_class >= 0 && cls != prev_class;
      prev_class = cls;
    }
  }
  if (all_digits)
    return s.size() <= kMaxIntegerDigits ? SegmentKind::kInteger : SegmentKind::kToken;
  if (s == "true" || s == "false") return SegmentKind::kBoolean;
  if (IsUuid(s)) return SegmentKind::kUuid;
  if (IsDate(s)) return SegmentKind::kDate;
  if (IsEmail(s)) return SegmentKind::kEmail;
  if (all_hex && s.size() >= kMinHexIdLength && digits > 0 && letters > 0) return SegmentKind::kHex;
  if (token_chars && s.size() >= kMinTokenIdLength && digits > 0 && letters > 0 &&
      class_changes * kTokenCharsPerClassChange >= s.size()) {
    return SegmentKind::kToken;
  }
  return SegmentKind::kWord;
}

SegmentKind WidenKind(SegmentKind a, SegmentKind b) {
  if (a == b) return a;
  auto numeric_ish = [](SegmentKind k) {
    return k == SegmentKind::kInteger || k == SegmentKind::kHex || k == SegmentKind::kToken;
  };
  if (numeric_ish(a) && numeric_ish(b)) return SegmentKind::kToken;
  return SegmentKind::kWord;
}

bool IsVersionSegment(std::string_view s) {
  if (s.size() < 2 || (s[0] != 'v' && s[0] != 'V')) return false;
  size_t i = 1;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (!digits()) return false;
  while (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;  // pre-release tag
  digits();
  return i == s.size();
}

const char* SegmentKindName(SegmentKind k) {
  switch (k) {
    case SegmentKind::kInteger:
      return "integer";
    case SegmentKind::kUuid:
      return "uuid";
    case SegmentKind::kDate:
      return "date";
    case SegmentKind::kEmail:
      return "email";
    case SegmentKind::kBoolean:
      return "boolean";
    case SegmentKind::kHex:
      return "hex";
    case SegmentKind::kToken:
      return "token";
    case SegmentKind::kWord:
      return "word";
  }
  return "word";
}

}  // namespace backsight::api
