// Fuzzes the tailed files' positions of logs.state (logs::DecodeTailPositions): arbitrary bytes
// must give OK or Corruption, never a crash or a huge allocation; accepted positions survive
// an encode/decode round trip, and a tailer restored from each position polls a missing
// file without harm.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/logs/file_tailer.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  backsight::ByteReader r(in);
  std::vector<backsight::logs::NamedTailPosition> positions;
  if (!backsight::logs::DecodeTailPositions(&r, &positions).ok()) return 0;
  std::string again;
  backsight::ByteWriter w(&again);
  backsight::logs::EncodeTailPositions(positions, &w);
  backsight::ByteReader r2(again);
  std::vector<backsight::logs::NamedTailPosition> back;
  if (!backsight::logs::DecodeTailPositions(&r2, &back).ok() || back != positions || !r2.done()) {
    __builtin_trap();
  }
  for (const auto& p : positions) {
    backsight::logs::FileTailer t("/nonexistent-backsight-fuzz/x.log");
    t.Restore(p.position);
    (void)t.Poll([](std::span<const std::string_view>) {}, nullptr);
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
