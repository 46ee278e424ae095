#include "backsight/ingest/remote_write.h"

#include <google/protobuf/arena.h>
#include <snappy.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/proto/remote.pb.h"

namespace backsight::ingest {

namespace {

using internal::IsValidLabelName;
using internal::IsValidUtf8;
using internal::Quote;

constexpr size_t kKeepScratchBytes = 8 << 20;  // per-thread buffers above this are released
constexpr int64_t kMaxAbsMs = INT64_MAX / kNanosPerMilli;

MetricKind KindFromProto(int t) {
  switch (t) {
    case prometheus::MetricMetadata::COUNTER:
      return MetricKind::kCounter;
    case prometheus::MetricMetadata::GAUGE:
      return MetricKind::kGauge;
    case prometheus::MetricMetadata::HISTOGRAM:
    case prometheus::MetricMetadata::GAUGEHISTOGRAM:
      return MetricKind::kHistogram;
    case prometheus::MetricMetadata::SUMMARY:
      return MetricKind::kSummary;
    case prometheus::MetricMetadata::INFO:
    case prometheus::MetricMetadata::STATESET:
      return MetricKind::kGauge;
    default:
      return MetricKind::kUnknown;
  }
}

prometheus::MetricMetadata::MetricType KindToProto(MetricKind k) {
  switch (k) {
    case MetricKind::kCounter:
      return prometheus::MetricMetadata::COUNTER;
    case MetricKind::kGauge:
      return prometheus::MetricMetadata::GAUGE;
    case MetricKind::kHistogram:
      return prometheus::MetricMetadata::HISTOGRAM;
    case MetricKind::kSummary:
      return prometheus::MetricMetadata::SUMMARY;
    default:
      return prometheus::MetricMetadata::UNKNOWN;
  }
}

// InvalidArgument "remote_write: <msg>" with the typed reason `r`.
Status Bad(Reason r, std::string msg) {
  return Status::InvalidArgument(r, "remote_write: " + std::move(msg));
}

// Hot-path helpers (inlined; the generic versions call into libc for a few bytes).
struct LabelCharTable {
  bool first[256] = {};
  bool rest[256] = {};
  constexpr LabelCharTable() {
    for (int c = 0; c < 256; ++c) {
      bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      first[c] = alpha;
      rest[c] = alpha || (c >= '0' && c <= '9');
    }
  }
};
constexpr LabelCharTable kLabelChars;

inline bool FastLabelName(std::string_view s) {
  if (s.empty() || !kLabelChars.first[static_cast<uint8_t>(s[0])]) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (!kLabelChars.rest[static_cast<uint8_t>(s[i])]) return false;
  }
  return true;
}

inline bool StrictlyLess(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<uint8_t>(a[i]) < static_cast<uint8_t>(b[i]);
  }
  return a.size() < b.size();
}

// Per-thread decompression buffer (released when a body above kKeepScratchBytes was seen).
struct Scratch {
  std::unique_ptr<char[]> buf;
  size_t cap = 0;
};

Scratch& ThreadScratch() {
  thread_local Scratch s;
  return s;
}

// Single-pass decoder of the protobuf wire format of prometheus.WriteRequest straight into
// TimeSeries (no intermediate message, one copy of each string). Follows protobuf parsing rules:
// unknown fields and known fields with an unexpected wire type are skipped, the last occurrence
// of a scalar field wins. Groups (deprecated wire types 3/4, never used by proto3 senders) are
// rejected. Every error names the byte offset in the decompressed message and the field path.
// A field path such as timeseries[3].labels[1], formatted only when an error is reported.
struct Path {
  const char* a = nullptr;  // "timeseries" / "metadata" / "WriteRequest"
  int i = -1;
  const char* b = nullptr;  // "labels" / "samples"
  int j = -1;
  const char* leaf = nullptr;  // "timestamp" / "value" / "type"
  Path Leaf(const char* l) const {
    Path p = *this;
    p.leaf = l;
    return p;
  }
  std::string Str() const {
    std::string s = a ? a : "";
    auto idx = [&s](int k) {
      s += '[';
      s += std::to_string(k);
      s += ']';
    };
    if (i >= 0) idx(i);
    if (b) s.append(".").append(b);
    if (j >= 0) idx(j);
    if (leaf) s.append(".").append(leaf);
    return s;
  }
};

#define CHECK_OK(expr)         \
  do {                         \
    if (!(expr)) return false; \
  } while (0)

class WireDecoder {
 public:
  WireDecoder(std::string_view msg, std::vector<TimeSeries>* out,
              std::vector<RemoteWriteMetadata>* metadata)
      : p_(reinterpret_cast<const uint8_t*>(msg.data())), out_(out), metadata_(metadata) {}

  Status Run(size_t size) {
    size_t pos = 0;
    int ts_index = 0, md_index = 0;
    while (pos < size) {
      size_t tag_pos = pos;
      uint32_t field = 0;
      int wt = 0;
      if (!Tag(&pos, size, &field, &wt, Path{"WriteRequest"})) return err_;
      if (field == 1 && wt == 2) {
        size_t len = 0;
        if (!Len(&pos, size, tag_pos, &len, TsPath(ts_index))) return err_;
        if (!Series(pos, pos + len, ts_index)) return err_;
        pos += len;
        ++ts_index;
      } else if (field == 3 && wt == 2) {
        size_t len = 0;
        Path path{"metadata", md_index};
        if (!Len(&pos, size, tag_pos, &len, path)) return err_;
        if (!Metadata(pos, pos + len, path)) return err_;
        pos += len;
        ++md_index;
      } else {
        if (!Skip(&pos, size, tag_pos, wt, Path{"WriteRequest"})) return err_;
      }
    }
    out_->resize(kept_);
    if (!kinds_.empty()) {
      for (TimeSeries& ts : *out_) {
        ts.kind = internal::LookupKind(kinds_, GetLabel(ts.labels, "__name__"));
      }
    }
    return Status::OK();
  }

 private:
  static Path TsPath(int i) { return Path{"timeseries", i}; }
  static Path Sub(Path base, const char* name, int j) {
    base.b = name;
    base.j = j;
    return base;
  }
  bool BadF(Reason r, std::string msg) const {
    err_ = Bad(r, std::move(msg));
    return false;
  }
  bool At(size_t pos, const Path& path, const std::string& why) const {
    return BadF(Reason::kMalformed, "malformed protobuf at byte " + std::to_string(pos) + " in " +
                                        path.Str() + ": " + why);
  }

  bool Varint(size_t* pos, size_t end, uint64_t* v) const {
    uint64_t r = 0;
    for (int i = 0; i < 10; ++i) {
      if (*pos >= end) return false;
      uint8_t b = p_[(*pos)++];
      r |= uint64_t{b & 0x7Fu} << (7 * i);
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }

  bool Tag(size_t* pos, size_t end, uint32_t* field, int* wt, const Path& path) const {
    size_t tag_pos = *pos;
    // As protobuf's ReadTag: at most 5 bytes, value taken modulo 2^32.
    uint32_t tag = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || *pos >= end) return At(tag_pos, path, "truncated or overlong field tag");
      uint8_t b = p_[(*pos)++];
      tag |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) break;
    }
    *field = tag >> 3;
    *wt = static_cast<int>(tag & 7);
    if (*field == 0) return At(tag_pos, path, "invalid field number 0");
    return true;
  }

  bool Len(size_t* pos, size_t end, size_t tag_pos, size_t* len, const Path& path) const {
    // As protobuf's ReadSize: at most 5 bytes and below 2^31.
    uint64_t v = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || *pos >= end) return At(tag_pos, path, "truncated or overlong length");
      uint8_t b = p_[(*pos)++];
      if (i == 4 && b >= 8) return At(tag_pos, path, "length of 2 GiB or more");
      v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) break;
    }
    if (v > end - *pos) {
      return At(tag_pos, path,
                "length " + std::to_string(v) + " exceeds the " + std::to_string(end - *pos) +
                    " bytes left");
    }
    *len = static_cast<size_t>(v);
    return true;
  }

  bool Skip(size_t* pos, size_t end, size_t tag_pos, int wt, const Path& path) const {
    uint64_t v;
    switch (wt) {
      case 0:
        if (!Varint(pos, end, &v)) return At(tag_pos, path, "truncated varint");
        return true;
      case 1:
        if (end - *pos < 8) return At(tag_pos, path, "truncated 64-bit field");
        *pos += 8;
        return true;
      case 5:
        if (end - *pos < 4) return At(tag_pos, path, "truncated 32-bit field");
        *pos += 4;
        return true;
      case 2: {
        size_t len = 0;
        CHECK_OK(Len(pos, end, tag_pos, &len, path));
        *pos += len;
        return true;
      }
      default:
        return At(tag_pos, path, "unsupported wire type " + std::to_string(wt));
    }
  }

  std::string_view View(size_t pos, size_t len) const {
    return {reinterpret_cast<const char*>(p_ + pos), len};
  }

  // Parses a Label or MetricMetadata-like message of string fields: returns fields 1 and 2.
  bool Label(size_t pos, size_t end, const Path& path, std::string_view* name,
             std::string_view* value) const {
    *name = {};
    *value = {};
    while (pos < end) {
      size_t tag_pos = pos;
      uint32_t field = 0;
      int wt = 0;
      CHECK_OK(Tag(&pos, end, &field, &wt, path));
      if ((field == 1 || field == 2) && wt == 2) {
        size_t len = 0;
        CHECK_OK(Len(&pos, end, tag_pos, &len, path));
        (field == 1 ? *name : *value) = View(pos, len);
        pos += len;
      } else {
        CHECK_OK(Skip(&pos, end, tag_pos, wt, path));
      }
    }
    return true;
  }

  bool SampleMsg(size_t pos, size_t end, const Path& path, Sample* s) const {
    double value = 0;
    int64_t ms = 0;
    while (pos < end) {
      size_t tag_pos = pos;
      uint32_t field = 0;
      int wt = 0;
      CHECK_OK(Tag(&pos, end, &field, &wt, path));
      if (field == 1 && wt == 1) {
        if (end - pos < 8) return At(tag_pos, path.Leaf("value"), "truncated double");
        std::memcpy(&value, p_ + pos, 8);
        pos += 8;
      } else if (field == 2 && wt == 0) {
        uint64_t v;
        if (!Varint(&pos, end, &v)) return At(tag_pos, path.Leaf("timestamp"), "truncated varint");
        ms = static_cast<int64_t>(v);
      } else {
        CHECK_OK(Skip(&pos, end, tag_pos, wt, path));
      }
    }
    if (ms > kMaxAbsMs || ms < -kMaxAbsMs) {
      return BadF(Reason::kTimestamp, path.Leaf("timestamp").Str() + ": " + std::to_string(ms) +
                                          " ms is outside the representable range (±292 years)");
    }
    s->ts = ms * kNanosPerMilli;
    s->value = value;
    return true;
  }

  bool Series(size_t pos, size_t end, int index) {
    if (kept_ == out_->size()) out_->emplace_back();
    TimeSeries& ts = (*out_)[kept_];
    size_t n_labels = 0, n_samples = 0;
    int label_index = 0, sample_index = 0;
    bool has_name = false;
    std::string_view prev;
    while (pos < end) {
      size_t tag_pos = pos;
      uint32_t field = 0;
      int wt = 0;
      CHECK_OK(Tag(&pos, end, &field, &wt, TsPath(index)));
      if (field == 1 && wt == 2) {
        size_t len = 0;
        CHECK_OK(Len(&pos, end, tag_pos, &len, TsPath(index)));
        std::string_view name, value;
        size_t start = pos;
        pos += len;
        int j = label_index++;
        // The field path is built only on error: parse again with it to get the message.
        bool st = Label(start, pos, Path{}, &name, &value);
        if (!st) {
          CHECK_OK(Label(start, pos, Sub(TsPath(index), "labels", j), &name, &value));
        }
        if (!FastLabelName(name)) {
          return BadF(Reason::kLabels, Sub(TsPath(index), "labels", j).Str() +
                                           ": invalid label name " + Quote(name) +
                                           " (must match [a-zA-Z_][a-zA-Z0-9_]*)");
        }
        if (j > 0 && !StrictlyLess(prev, name)) {
          return BadF(Reason::kLabels,
                      Sub(TsPath(index), "labels", j).Str() + ": label name " + Quote(name) +
                          (name == prev ? " is duplicated"
                                        : " is not sorted (follows " + Quote(prev) + ")"));
        }
        prev = name;
        size_t bad;
        if (!IsValidUtf8(value, &bad)) {
          return BadF(Reason::kUtf8, Sub(TsPath(index), "labels", j).Str() + " (" +
                                         std::string(name) +
                                         "): value is not valid UTF-8 at byte " +
                                         std::to_string(start) + "+" + std::to_string(bad));
        }
        if (value.empty()) continue;  // empty value == label absent
        if (!has_name && name.size() == 8 && name == "__name__") has_name = true;
        if (n_labels == ts.labels.size()) ts.labels.emplace_back();
        backsight::Label& dst = ts.labels[n_labels++];
        dst.name.assign(name);
        dst.value.assign(value);
      } else if (field == 2 && wt == 2) {
        size_t len = 0;
        CHECK_OK(Len(&pos, end, tag_pos, &len, TsPath(index)));
        if (n_samples == ts.samples.size()) ts.samples.emplace_back();
        int j = sample_index++;
        bool st = SampleMsg(pos, pos + len, Path{}, &ts.samples[n_samples]);
        if (!st) {
          CHECK_OK(
              SampleMsg(pos, pos + len, Sub(TsPath(index), "samples", j), &ts.samples[n_samples]));
        }
        ++n_samples;
        pos += len;
      } else {
        CHECK_OK(Skip(&pos, end, tag_pos, wt, TsPath(index)));
      }
    }
    ts.labels.resize(n_labels);
    ts.samples.resize(n_samples);
    ts.kind = MetricKind::kUnknown;
    if (n_samples == 0) return true;  // only histograms/exemplars: dropped
    if (!has_name) return BadF(Reason::kLabels, TsPath(index).Str() + ": no __name__ label");
    ++kept_;
    return true;
  }

  bool Metadata(size_t pos, size_t end, const Path& path) {
    int type = 0;
    std::string_view family, help, unit;
    while (pos < end) {
      size_t tag_pos = pos;
      uint32_t field = 0;
      int wt = 0;
      CHECK_OK(Tag(&pos, end, &field, &wt, path));
      if (field == 1 && wt == 0) {
        uint64_t v;
        if (!Varint(&pos, end, &v)) return At(tag_pos, path.Leaf("type"), "truncated varint");
        type = static_cast<int>(static_cast<int32_t>(v));
      } else if ((field == 2 || field == 4 || field == 5) && wt == 2) {
        size_t len = 0;
        CHECK_OK(Len(&pos, end, tag_pos, &len, path));
        (field == 2 ? family : field == 4 ? help : unit) = View(pos, len);
        pos += len;
      } else {
        CHECK_OK(Skip(&pos, end, tag_pos, wt, path));
      }
    }
    MetricKind k = KindFromProto(type);
    if (k != MetricKind::kUnknown) kinds_.emplace(std::string(family), k);
    if (metadata_) {
      metadata_->push_back({std::string(family), k, std::string(help), std::string(unit)});
    }
    return true;
  }

  mutable Status err_;
  const uint8_t* p_;
  std::vector<TimeSeries>* out_;
  std::vector<RemoteWriteMetadata>* metadata_;
  internal::KindMap kinds_;
  size_t kept_ = 0;
};

#undef CHECK_OK

Status Decode(std::string_view body, std::vector<TimeSeries>* out,
              std::vector<RemoteWriteMetadata>* metadata, size_t max_bytes) {
  if (metadata) metadata->clear();
  size_t ulen = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &ulen)) {
    return Bad(Reason::kSnappy,
               "body is not snappy block-compressed: bad length preamble at byte 0 (" +
                   std::to_string(body.size()) + " bytes received)");
  }
  if (ulen > max_bytes) {
    return Bad(Reason::kTooLarge, "decompressed size " + std::to_string(ulen) +
                                      " bytes exceeds the limit of " + std::to_string(max_bytes) +
                                      " bytes");
  }
  Scratch& sc = ThreadScratch();
  if (sc.cap < ulen) {
    size_t cap = std::max<size_t>(ulen, 4096);
    sc.buf.reset(new char[cap]);
    sc.cap = cap;
  }
  if (!snappy::RawUncompress(body.data(), body.size(), sc.buf.get())) {
    return Bad(Reason::kSnappy, "corrupt snappy data (" + std::to_string(body.size()) +
                                    " bytes, declared decompressed size " + std::to_string(ulen) +
                                    ")");
  }
  WireDecoder dec(std::string_view(sc.buf.get(), ulen), out, metadata);
  Status st = dec.Run(ulen);
  if (sc.cap > kKeepScratchBytes) {
    sc.buf.reset();
    sc.cap = 0;
  }
  return st;
}

}  // namespace

Status DecodeRemoteWrite(std::string_view body, std::vector<TimeSeries>* out,
                         size_t max_decompressed_bytes) {
  Status st = Decode(body, out, nullptr, max_decompressed_bytes);
  if (!st.ok()) out->clear();
  return st;
}

Status DecodeRemoteWriteWithMetadata(std::string_view body, std::vector<TimeSeries>* out,
                                     std::vector<RemoteWriteMetadata>* metadata,
                                     size_t max_decompressed_bytes) {
  Status st = Decode(body, out, metadata, max_decompressed_bytes);
  if (!st.ok()) {
    out->clear();
    if (metadata) metadata->clear();
  }
  return st;
}

void EncodeRemoteWrite(const std::vector<TimeSeries>& series, std::string* body) {
  google::protobuf::Arena arena;
  auto* req = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
  req->mutable_timeseries()->Reserve(static_cast<int>(series.size()));
  internal::KindMap families;
  for (const TimeSeries& s : series) {
    auto* ts = req->add_timeseries();
    const Labels* labels = &s.labels;
    Labels sorted;
    if (!std::is_sorted(labels->begin(), labels->end(),
                        [](const Label& a, const Label& b) { return a.name < b.name; })) {
      sorted = s.labels;
      SortLabels(&sorted);
      labels = &sorted;
    }
    for (const Label& l : *labels) {
      auto* pl = ts->add_labels();
      pl->set_name(l.name);
      pl->set_value(l.value);
    }
    ts->mutable_samples()->Reserve(static_cast<int>(s.samples.size()));
    for (const Sample& smp : s.samples) {
      auto* ps = ts->add_samples();
      int64_t ms = smp.ts / kNanosPerMilli;
      if (smp.ts % kNanosPerMilli < 0) --ms;
      ps->set_timestamp(ms);
      ps->set_value(smp.value);
    }
    if (s.kind != MetricKind::kUnknown) {
      std::string_view family = internal::FamilyName(GetLabel(s.labels, "__name__"), s.kind);
      if (!family.empty() && !families.contains(family)) {
        families.emplace(std::string(family), s.kind);
        auto* md = req->add_metadata();
        md->set_type(KindToProto(s.kind));
        md->set_metric_family_name(std::string(family));
      }
    }
  }
  std::string raw;
  req->SerializeToString(&raw);
  body->clear();
  snappy::Compress(raw.data(), raw.size(), body);
}

}  // namespace backsight::ingest
