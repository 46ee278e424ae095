// Fuzzes the trace findings state of traces.state (traces::FindingsDetector::RestoreState):
// arbitrary bytes must give OK or Corruption, never a crash or a huge allocation; an accepted
// state lists its findings, and saving it, restoring that and saving again gives the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/traces/findings.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  backsight::traces::FindingsDetector d;
  if (!d.RestoreState(in).ok()) {
    if (!d.Findings().empty()) __builtin_trap();  // a refused state leaves the detector alone
    return 0;
  }
  (void)d.Findings();
  std::string once, twice;
  d.SaveState(&once);
  backsight::traces::FindingsDetector e;
  if (!e.RestoreState(once).ok()) __builtin_trap();
  e.SaveState(&twice);
  if (once != twice) __builtin_trap();
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
