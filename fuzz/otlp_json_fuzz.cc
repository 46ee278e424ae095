// Fuzzes DecodeOtlpMetricsJson (ExportMetricsServiceRequest JSON bodies).
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "backsight/ingest/otlp_metrics.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  std::vector<backsight::TimeSeries> out;
  backsight::Status st = backsight::ingest::DecodeOtlpMetricsJson(
      std::string_view(reinterpret_cast<const char*>(data), size), &out, 1 << 20);
  if (!st.ok() && !out.empty()) std::abort();
  for (const auto& s : out) {
    for (size_t i = 1; i < s.labels.size(); ++i) {
      if (!(s.labels[i - 1].name < s.labels[i].name)) std::abort();
    }
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
