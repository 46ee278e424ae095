#include "backsight/ingest/ingest_util.h"

#include <google/protobuf/descriptor.h>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace backsight::ingest::internal {

namespace {
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsValidLabelName(std::string_view s) {
  if (s.empty() || !(IsAlpha(s[0]) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_')) return false;
  }
  return true;
}

bool IsValidMetricName(std::string_view s) {
  if (s.empty() || !(IsAlpha(s[0]) || s[0] == '_' || s[0] == ':')) return false;
  for (char c : s) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == ':')) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s, size_t* bad_offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: 8 ASCII bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      *bad_offset = i;
      return false;
    }
    if (i + len > n) {
      *bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

Status CheckUtf8(std::string_view s, std::string_view decoder, const std::string& path) {
  size_t bad;
  if (IsValidUtf8(s, &bad)) return Status::OK();
  return Status::InvalidArgument(
      Reason::kUtf8,
      std::string(decoder) + ": " + path + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  size_t limit = s.size() > 64 ? 64 : s.size();
  for (size_t i = 0; i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > limit) out += "...";
  return out;
}

namespace {
bool StripSuffix(std::string_view name, std::string_view suffix, std::string_view* base) {
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
    return false;
  }
  *base = name.substr(0, name.size() - suffix.size());
  return true;
}
}  // namespace

MetricKind LookupKind(const KindMap& kinds, std::string_view name) {
  if (kinds.empty()) return MetricKind::kUnknown;
  if (auto it = kinds.find(name); it != kinds.end()) return it->second;
  struct Rule {
    std::string_view suffix;
    MetricKind kind;
  };
  static constexpr Rule kRules[] = {
      {"_bucket", MetricKind::kHistogram}, {"_count", MetricKind::kHistogram},
      {"_sum", MetricKind::kHistogram},    {"_gcount", MetricKind::kHistogram},
      {"_gsum", MetricKind::kHistogram},   {"_count", MetricKind::kSummary},
      {"_sum", MetricKind::kSummary},      {"_total", MetricKind::kCounter},
      {"_info", MetricKind::kGauge},
  };
  std::string_view base;
  for (const Rule& r : kRules) {
    if (!StripSuffix(name, r.suffix, &base)) continue;
    auto it = kinds.find(base);
    if (it != kinds.end() && it->second == r.kind) return r.kind;
  }
  return MetricKind::kUnknown;
}

void SeriesBuilder::Add(Labels* labels, MetricKind kind, Sample s) {
  uint64_t fp = Fingerprint(*labels);
  auto& slots = index_[fp];
  for (size_t idx : slots) {
    TimeSeries& ts = (*out_)[idx];
    if (ts.labels == *labels) {
      ts.samples.push_back(s);
      return;
    }
  }
  slots.push_back(out_->size());
  TimeSeries& ts = out_->emplace_back();
  ts.labels = std::move(*labels);
  ts.kind = kind;
  ts.samples.push_back(s);
}

namespace {

namespace pb = google::protobuf;

struct Walker {
  std::string_view all;
  std::string error;

  bool ReadVarint(size_t* pos, size_t end, uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (*pos >= end) return false;
      uint8_t b = static_cast<uint8_t>(all[*pos]);
      ++*pos;
      if (shift == 63 && b > 1) return false;
      r |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }

  bool Fail(size_t pos, const std::string& path, const std::string& why) {
    error = "byte " + std::to_string(pos) + " in " + path + ": " + why;
    return false;
  }

  // Walks [begin, end) as message `d`. Returns false (with error set) at the first problem.
  bool Walk(const pb::Descriptor* d, size_t begin, size_t end, const std::string& path, int depth) {
    if (depth > 100) return Fail(begin, path, "messages nested deeper than 100 levels");
    std::unordered_map<int, int> counts;
    size_t pos = begin;
    while (pos < end) {
      size_t tag_pos = pos;
      uint64_t tag;
      if (!ReadVarint(&pos, end, &tag)) return Fail(tag_pos, path, "truncated or overlong tag");
      uint64_t field = tag >> 3;
      int wt = static_cast<int>(tag & 7);
      if (field == 0 || field > 536870911) return Fail(tag_pos, path, "invalid field number 0");
      const pb::FieldDescriptor* f = d ? d->FindFieldByNumber(static_cast<int>(field)) : nullptr;
      std::string fpath = path + "." + (f ? f->name() : "field" + std::to_string(field));
      if (f && f->is_repeated()) {
        fpath += '[';
        fpath += std::to_string(counts[f->number()]++);
        fpath += ']';
      }
      uint64_t v;
      switch (wt) {
        case 0:
          if (!ReadVarint(&pos, end, &v)) return Fail(tag_pos, fpath, "truncated varint");
          break;
        case 1:
          if (end - pos < 8) return Fail(tag_pos, fpath, "truncated 64-bit value");
          pos += 8;
          break;
        case 5:
          if (end - pos < 4) return Fail(tag_pos, fpath, "truncated 32-bit value");
          pos += 4;
          break;
        case 2: {
          if (!ReadVarint(&pos, end, &v)) return Fail(tag_pos, fpath, "truncated length");
          if (v > end - pos) {
            return Fail(tag_pos, fpath,
                        "length " + std::to_string(v) + " exceeds the " +
                            std::to_string(end - pos) + " bytes left");
          }
          if (f && f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
            if (!Walk(f->message_type(), pos, pos + v, fpath, depth + 1)) return false;
          }
          pos += v;
          break;
        }
        case 3:
        case 4:
          return Fail(tag_pos, fpath,
                      "groups (wire type " + std::to_string(wt) + ") are not supported");
        default:
          return Fail(tag_pos, fpath, "invalid wire type " + std::to_string(wt));
      }
    }
    return true;
  }
};

}  // namespace

std::string DiagnoseProtobuf(const google::protobuf::Descriptor* d, std::string_view bytes) {
  Walker w{bytes, {}};
  if (!w.Walk(d, 0, bytes.size(), d->name(), 0)) return w.error;
  return "malformed " + d->name() + " message (" + std::to_string(bytes.size()) + " bytes)";
}

std::string_view FamilyName(std::string_view name, MetricKind kind) {
  auto strip = [&](std::string_view suffix) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      name.remove_suffix(suffix.size());
      return true;
    }
    return false;
  };
  if (kind == MetricKind::kHistogram) {
    strip("_bucket") || strip("_sum") || strip("_count");
  } else if (kind == MetricKind::kSummary) {
    strip("_sum") || strip("_count");
  }
  return name;
}

}  // namespace backsight::ingest::internal
