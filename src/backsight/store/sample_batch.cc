#include "backsight/store/sample_batch.h"

#include <bit>
#include <cstring>

#include "backsight/core/byte_io.h"
#include "backsight/store/state_store.h"

namespace backsight::store {
namespace {

// Zigzag mapping (as in protobuf's sint64): small negative and positive deltas stay short.
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Unsigned LEB128 (as ByteWriter::PutVarint) into a buffer with room; returns the end.
char* PutVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* PutFixed64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return p + 8;
}

}  // namespace

void AppendBatchSeries(uint64_t fp, MetricKind kind, std::string_view encoded_labels,
                       const Sample* samples, size_t n, std::string* out) {
  // Hot path (once per accepted series per request): write into room reserved up front rather
  // than byte by byte; the layout is the one ByteReader reads back.
  constexpr size_t kMaxVarint = 10;
  const size_t old = out->size();
  out->resize(old + 8 + 1 + kMaxVarint + encoded_labels.size() + kMaxVarint + n * (kMaxVarint + 8));
  char* p = out->data() + old;
  p = PutFixed64(fp, p);
  *p++ = static_cast<char>(kind);
  p = PutVarint(encoded_labels.size(), p);
  std::memcpy(p, encoded_labels.data(), encoded_labels.size());
  p += encoded_labels.size();
  p = PutVarint(n, p);
  // Wrapping arithmetic: any int64 timestamps round-trip.
  uint64_t prev = 0, prev_delta = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t ts = static_cast<uint64_t>(samples[i].ts);
    const uint64_t delta = ts - prev;
    p = PutVarint(ZigZag(static_cast<int64_t>(delta - prev_delta)), p);
    p = PutFixed64(std::bit_cast<uint64_t>(samples[i].value), p);
    prev = ts;
    prev_delta = delta;
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

Status DecodeSampleBatch(std::string_view record, std::vector<BatchSeries>* out) {
  out->clear();
  ByteReader r(record);
  std::string labels;
  while (!r.done()) {
    BatchSeries b;
    uint8_t kind;
    uint64_t n;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&b.fp, "fingerprint"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&kind, "kind"));
    if (kind > static_cast<uint8_t>(MetricKind::kSummary)) {
      return Status::Corruption("sample batch: unknown metric kind " + std::to_string(kind) +
                                " at offset " + std::to_string(r.position() - 1));
    }
    b.series.kind = static_cast<MetricKind>(kind);
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&labels, "labels"));
    BACKSIGHT_RETURN_IF_ERROR(DecodeLabels(labels, &b.series.labels));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "sample_count"));
    // Each sample takes at least 9 bytes: refuse counts the record cannot hold before allocating.
    if (n > r.remaining() / 9) {
      return Status::Corruption("sample batch: " + std::to_string(n) + " samples at offset " +
                                std::to_string(r.position()) + " exceed the record");
    }
    b.series.samples.resize(n);
    uint64_t prev = 0, prev_delta = 0;
    for (auto& s : b.series.samples) {
      uint64_t dod;
      BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&dod, "timestamp_delta_of_delta"));
      const uint64_t delta = prev_delta + static_cast<uint64_t>(UnZigZag(dod));
      s.ts = static_cast<TimestampNs>(prev + delta);
      BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.value, "value"));
      prev = static_cast<uint64_t>(s.ts);
      prev_delta = delta;
    }
    out->push_back(std::move(b));
  }
  return Status::OK();
}

}  // namespace backsight::store
