// libFuzzer target: the NAB CSV readers (timestamp,value data files and
// anomaly_score results).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "backsight/evaluate/nab_scorer.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<backsight::TimestampNs> ts;
  std::vector<double> values, scores;
  (void)backsight::evaluate::ParseTimestampValueCsv(text, "fuzz.csv", &ts, &values);
  (void)backsight::evaluate::ParseAnomalyScoreCsv(text, "fuzz.csv", &scores);
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
