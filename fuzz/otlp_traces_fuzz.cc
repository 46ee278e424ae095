// Fuzzes DecodeOtlpTracesProto (first byte even) and DecodeOtlpTracesJson (odd) on the rest,
// and ReadSpanCsv when the first byte is 0xff.
// Oracles: no exception; errors append nothing; every span has ids, a service and end >= start;
// kept attributes are within their caps.
#include <cstdint>
#include <cstdlib>

#include "backsight/ingest/otlp_traces.h"
#include "backsight/ingest/span_csv.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  backsight::ingest::SpanBatch out;
  backsight::Status st;
  if (data[0] == 0xff) {
    st = backsight::ingest::ReadSpanCsv(rest, &out);
  } else if (data[0] & 1) {
    st = backsight::ingest::DecodeOtlpTracesJson(rest, &out, 1 << 20);
  } else {
    st = backsight::ingest::DecodeOtlpTracesProto(rest, &out, 1 << 20);
  }
  if (!st.ok() && !out.spans.empty()) std::abort();
  for (const auto& s : out.spans) {
    if (s.trace_id.empty() || s.span_id.empty() || s.service.empty()) std::abort();
    if (s.end_ns < s.start_ns) std::abort();
    if (s.attributes.size() > backsight::ingest::kMaxKeptAttributes) std::abort();
    for (const auto& a : s.attributes) {
      if (a.value.size() > backsight::ingest::kMaxAttributeValueBytes) std::abort();
    }
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
