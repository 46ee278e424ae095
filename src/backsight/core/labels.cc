#include "backsight/core/labels.h"

#include <algorithm>

namespace backsight {

void SortLabels(Labels* labels) {
  std::stable_sort(labels->begin(), labels->end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
}

std::string_view GetLabel(const Labels& labels, std::string_view name) {
  for (const auto& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

uint64_t Fingerprint(const Labels& sorted_labels) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator byte that cannot occur in UTF-8
    h *= 1099511628211ull;
  };
  for (const auto& l : sorted_labels) {
    mix(l.name);
    mix(l.value);
  }
  return h;
}

std::string FormatFingerprint(uint64_t fingerprint) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, fingerprint >>= 4) out[i] = kDigits[fingerprint & 0xf];
  return out;
}

void AppendEscaped(std::string_view s, bool quote, std::string* out) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

void AppendLabelSet(const Labels& labels, std::string* out) {
  bool any = false;
  for (const Label& l : labels) {
    if (l.name == "__name__") continue;
    out->push_back(any ? ',' : '{');
    any = true;
    out->append(l.name).append("=\"");
    AppendEscaped(l.value, /*quote=*/true, out);
    out->push_back('"');
  }
  if (any) out->push_back('}');
}

std::string LabelsToString(const Labels& labels) {
  std::string out(GetLabel(labels, "__name__"));
  AppendLabelSet(labels, &out);
  return out;
}

}  // namespace backsight
