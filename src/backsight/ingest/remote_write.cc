#include "backsight/ingest/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <climits>
#include <memory>

#include <google/protobuf/arena.h>

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
    case prometheus::MetricMetadata::COUNTER: return MetricKind::kCounter;
    case prometheus::MetricMetadata::GAUGE: return MetricKind::kGauge;
    case prometheus::MetricMetadata::HISTOGRAM:
    case prometheus::MetricMetadata::GAUGEHISTOGRAM: return MetricKind::kHistogram;
    case prometheus::MetricMetadata::SUMMARY: return MetricKind::kSummary;
    case prometheus::MetricMetadata::INFO:
    case prometheus::MetricMetadata::STATESET: return MetricKind::kGauge;
    default: return MetricKind::kUnknown;
  }
}

prometheus::MetricMetadata::MetricType KindToProto(MetricKind k) {
  switch (k) {
    case MetricKind::kCounter: return prometheus::MetricMetadata::COUNTER;
    case MetricKind::kGauge: return prometheus::MetricMetadata::GAUGE;
    case MetricKind::kHistogram: return prometheus::MetricMetadata::HISTOGRAM;
    case MetricKind::kSummary: return prometheus::MetricMetadata::SUMMARY;
    default: return prometheus::MetricMetadata::UNKNOWN;
  }
}

Status Bad(std::string msg) { return Status::InvalidArgument("remote_write: " + std::move(msg)); }

std::string SeriesPos(int i) { return "timeseries[" + std::to_string(i) + "]"; }

// Per-thread scratch: decompression buffer and a reusable WriteRequest (Clear() keeps the
// allocated sub-messages and string capacity, so steady-state parsing does not allocate).
struct Scratch {
  std::unique_ptr<char[]> buf;
  size_t cap = 0;
  prometheus::WriteRequest req;
};

Scratch& ThreadScratch() {
  thread_local Scratch s;
  return s;
}

Status ConvertSeries(const prometheus::TimeSeries& in, int index, const internal::KindMap& kinds,
                     TimeSeries* out) {
  const int nl = in.labels_size();
  out->labels.resize(nl);
  size_t kept = 0;
  bool has_name = false;
  std::string_view prev;
  for (int j = 0; j < nl; ++j) {
    const auto& l = in.labels(j);
    const std::string& name = l.name();
    const std::string& value = l.value();
    if (!IsValidLabelName(name)) {
      return Bad(SeriesPos(index) + ".labels[" + std::to_string(j) + "]: invalid label name " +
                 Quote(name) + " (must match [a-zA-Z_][a-zA-Z0-9_]*)");
    }
    if (j > 0 && name <= prev) {
      return Bad(SeriesPos(index) + ".labels[" + std::to_string(j) + "]: label name " +
                 Quote(name) +
                 (name == prev ? " is duplicated" : " is not sorted (follows " + Quote(prev) + ")"));
    }
    prev = name;
    size_t bad;
    if (!IsValidUtf8(value, &bad)) {
      return Bad(SeriesPos(index) + ".labels[" + std::to_string(j) + "] (" + name +
                 "): value is not valid UTF-8 at byte " + std::to_string(bad) + " of the value");
    }
    if (value.empty()) continue;
    if (name == "__name__") has_name = true;
    Label& dst = out->labels[kept++];
    dst.name.assign(name);
    dst.value.assign(value);
  }
  out->labels.resize(kept);
  if (!has_name) return Bad(SeriesPos(index) + ": no __name__ label");
  out->kind = MetricKind::kUnknown;
  if (!kinds.empty()) out->kind = internal::LookupKind(kinds, GetLabel(out->labels, "__name__"));

  const int ns = in.samples_size();
  out->samples.resize(ns);
  Sample* dst = out->samples.data();
  for (int j = 0; j < ns; ++j) {
    const auto& s = in.samples(j);
    int64_t ms = s.timestamp();
    if (ms > kMaxAbsMs || ms < -kMaxAbsMs) {
      return Bad(SeriesPos(index) + ".samples[" + std::to_string(j) + "].timestamp: " +
                 std::to_string(ms) + " ms is outside the representable range (±292 years)");
    }
    dst[j].ts = ms * kNanosPerMilli;
    dst[j].value = s.value();
  }
  return Status::OK();
}

Status Decode(std::string_view body, std::vector<TimeSeries>* out,
              std::vector<RemoteWriteMetadata>* metadata, size_t max_bytes) {
  size_t ulen = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &ulen)) {
    return Bad("body is not snappy block-compressed: bad length preamble at byte 0 (" +
               std::to_string(body.size()) + " bytes received)");
  }
  if (ulen > max_bytes || ulen > static_cast<size_t>(INT_MAX)) {
    return Bad("decompressed size " + std::to_string(ulen) + " bytes exceeds the limit of " +
               std::to_string(std::min<size_t>(max_bytes, INT_MAX)) + " bytes");
  }
  Scratch& sc = ThreadScratch();
  if (sc.cap < ulen || sc.cap > kKeepScratchBytes) {
    size_t cap = std::max<size_t>(ulen, 4096);
    sc.buf.reset(new char[cap]);
    sc.cap = cap;
  }
  if (!snappy::RawUncompress(body.data(), body.size(), sc.buf.get())) {
    return Bad("corrupt snappy data (" + std::to_string(body.size()) +
               " bytes, declared decompressed size " + std::to_string(ulen) + ")");
  }
  std::string_view raw(sc.buf.get(), ulen);

  // Large requests are parsed on an arena so that their memory is not kept per thread.
  std::unique_ptr<google::protobuf::Arena> arena;
  prometheus::WriteRequest* req = &sc.req;
  if (ulen > kKeepScratchBytes) {
    arena = std::make_unique<google::protobuf::Arena>();
    req = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(arena.get());
  } else {
    req->Clear();
  }
  if (!req->ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return Bad("malformed protobuf WriteRequest: " +
               internal::DiagnoseProtobuf(prometheus::WriteRequest::descriptor(), raw));
  }

  internal::KindMap kinds;
  if (metadata) metadata->clear();
  for (int i = 0; i < req->metadata_size(); ++i) {
    const auto& m = req->metadata(i);
    MetricKind k = KindFromProto(m.type());
    if (k != MetricKind::kUnknown) kinds.emplace(m.metric_family_name(), k);
    if (metadata) {
      metadata->push_back({m.metric_family_name(), k, m.help(), m.unit()});
    }
  }

  const int n = req->timeseries_size();
  int kept = 0;
  out->resize(n);
  for (int i = 0; i < n; ++i) {
    const auto& ts = req->timeseries(i);
    if (ts.samples_size() == 0) continue;
    Status st = ConvertSeries(ts, i, kinds, &(*out)[kept]);
    if (!st.ok()) {
      out->clear();
      return st;
    }
    ++kept;
  }
  out->resize(kept);
  if (sc.cap > kKeepScratchBytes) {
    sc.buf.reset();
    sc.cap = 0;
  }
  return Status::OK();
}

std::string_view FamilyOf(std::string_view name, MetricKind kind) {
  auto strip = [&](std::string_view suffix) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
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
      std::string_view family = FamilyOf(GetLabel(s.labels, "__name__"), s.kind);
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
