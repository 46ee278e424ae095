#include "backsight/store/sample_batch.h"

#include "backsight/core/byte_io.h"
#include "backsight/store/state_store.h"

namespace backsight::store {
namespace {

// Zigzag mapping (as in protobuf's sint64): small negative and positive deltas stay short.
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

void AppendBatchSeries(uint64_t fp, MetricKind kind, std::string_view encoded_labels,
                       const Sample* samples, size_t n, std::string* out) {
  ByteWriter w(out);
  w.PutU64(fp);
  w.PutU8(static_cast<uint8_t>(kind));
  w.PutString(encoded_labels);
  w.PutVarint(n);
  TimestampNs prev = 0;
  for (size_t i = 0; i < n; ++i) {
    // Wrapping subtraction: any pair of int64 timestamps round-trips.
    w.PutVarint(ZigZag(
        static_cast<int64_t>(static_cast<uint64_t>(samples[i].ts) - static_cast<uint64_t>(prev))));
    w.PutDouble(samples[i].value);
    prev = samples[i].ts;
  }
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
    TimestampNs prev = 0;
    for (auto& s : b.series.samples) {
      uint64_t d;
      BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&d, "timestamp_delta"));
      s.ts = static_cast<TimestampNs>(static_cast<uint64_t>(prev) +
                                      static_cast<uint64_t>(UnZigZag(d)));
      BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.value, "value"));
      prev = s.ts;
    }
    out->push_back(std::move(b));
  }
  return Status::OK();
}

}  // namespace backsight::store
