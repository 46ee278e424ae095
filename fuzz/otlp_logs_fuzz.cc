// Fuzzes DecodeOtlpLogsProto (first byte even) and DecodeOtlpLogsJson (odd) on the rest.
// Oracles: no exception, errors leave no output, labels sorted and unique, every stream has a
// service.
#include <cstdint>
#include <cstdlib>

#include "backsight/ingest/otlp_logs.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  backsight::ingest::LogBatch out;
  backsight::Status st = (data[0] & 1)
                             ? backsight::ingest::DecodeOtlpLogsJson(rest, &out, 1 << 20)
                             : backsight::ingest::DecodeOtlpLogsProto(rest, &out, 1 << 20);
  if (!st.ok() && !out.streams.empty()) std::abort();
  for (const auto& s : out.streams) {
    if (s.service.empty()) std::abort();
    for (size_t i = 1; i < s.labels.size(); ++i) {
      if (!(s.labels[i - 1].name < s.labels[i].name)) std::abort();
    }
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
