// libFuzzer target: a write-ahead-log segment read back at start-up (bytes on disk, possibly torn
// or damaged): the segment reader, then the sample batch decoder on every intact record.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "backsight/store/sample_batch.h"
#include "backsight/store/wal.h"
#include "fuzz_util.h"

namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  backsight::store::WalSegmentReader reader(
      std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<backsight::store::BatchSeries> batch;
  std::string_view rec;
  while (reader.Next(&rec)) (void)backsight::store::DecodeSampleBatch(rec, &batch);
  // What start-up does with a damaged record: decode what it can to name the series.
  (void)backsight::store::DecodeSampleBatch(reader.bad_payload(), &batch);
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
