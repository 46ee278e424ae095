// libFuzzer target: the time-to-exhaustion state of `exhaustion.state`
// (forecast::ExhaustionTracker::RestoreState with each series' TteEstimator, docs/formats.md §5e),
// read back at start-up from a file an operator may copy, truncate or damage: counts and lengths
// read from the bytes must give OK or Corruption, never a crash or an allocation they size. An
// accepted state predicts, and saved and restored again holds the same series.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/forecast/exhaustion.h"
#include "fuzz_util.h"

namespace {

constexpr size_t kMaxSeries = 100000;  // serve's default exhaustion.max_series (config.h)

int FuzzOne(const uint8_t* data, size_t size) {
  backsight::forecast::ExhaustionTracker t({}, kMaxSeries);
  if (!t.RestoreState(std::string_view(reinterpret_cast<const char*>(data), size)).ok()) return 0;
  const size_t series = t.Snapshot().size();
  std::string saved;
  t.SaveState(&saved);
  backsight::forecast::ExhaustionTracker again({}, kMaxSeries);
  if (!again.RestoreState(saved).ok()) __builtin_trap();
  if (again.Snapshot().size() != series) __builtin_trap();
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
