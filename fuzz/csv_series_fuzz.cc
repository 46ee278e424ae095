// libFuzzer target for the CSV series reader: any bytes must give rows or a clean error, never a
// crash, hang or sanitizer report. The first byte picks the column options.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "backsight/ingest/csv_series.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  backsight::ingest::CsvSeriesOptions options;
  if (size > 0) {
    if (data[0] & 1) options.timestamp_column = "t";
    if (data[0] & 2) options.value_column = "v";
    ++data;
    --size;
  }
  std::unique_ptr<backsight::ingest::CsvSeriesReader> reader;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!backsight::ingest::CsvSeriesReader::FromBuffer(input, "fuzz.csv", options, &reader).ok()) {
    return 0;
  }
  for (;;) {
    backsight::ingest::SeriesRow row;
    bool eof = false;
    if (!reader->Next(&row, &eof).ok() || eof) break;
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
