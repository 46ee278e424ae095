// libFuzzer target: the shared trace statistics and findings of `traces.state`
// (traces::FindingsStats::RestoreState, docs/formats.md), read back at start-up from a file an
// operator may copy, truncate or damage: operation, finding and upstream counts read from the bytes
// must give OK or Corruption, never a crash or an allocation they size. An accepted state lists
// its findings, and saves, restores and saves again to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/traces/findings_stats.h"
#include "fuzz_util.h"

namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  backsight::traces::FindingsStats stats;
  if (!stats.RestoreState(std::string_view(reinterpret_cast<const char*>(data), size)).ok()) {
    return 0;
  }
  (void)stats.Findings();  // scored against the restored operation counts
  std::string once, twice;
  stats.SaveState(&once);
  backsight::traces::FindingsStats again;
  if (!again.RestoreState(once).ok()) __builtin_trap();
  again.SaveState(&twice);
  if (once != twice) __builtin_trap();
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
