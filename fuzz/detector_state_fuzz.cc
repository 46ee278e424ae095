// Fuzzes DefaultDetector::RestoreState: arbitrary bytes must give OK or Corruption, never a crash,
// and a detector restored from accepted bytes must keep working.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backsight/detect/default_detector.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  auto d = backsight::detect::MakeDefaultDetector();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (d->RestoreState(in).ok()) {
    backsight::detect::DetectionResult r;
    int64_t ts = 0;
    for (int i = 0; i < 64; ++i) {
      ts += 1'000'000'000;
      (void)d->Update(ts, static_cast<double>(i % 7), &r);
    }
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
