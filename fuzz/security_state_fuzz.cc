// libFuzzer target: the logs.security ledger of `security.state` (security::FindingLedger::Decode,
// docs/formats.md), read back at start-up from a file an operator may copy, truncate or damage:
// key and finding counts read from the bytes must give OK or Corruption, never a crash or an
// allocation they size. An accepted state encodes, decodes and encodes again to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/security/finding_ledger.h"
#include "fuzz_util.h"

namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  backsight::security::FindingLedger ledger;
  if (!ledger.Decode(std::string_view(reinterpret_cast<const char*>(data), size)).ok()) return 0;
  (void)ledger.Merge({});  // serves the kept findings, as the analyzer's first report does
  std::string once, twice;
  ledger.Encode(&once);
  backsight::security::FindingLedger again;
  if (!again.Decode(once).ok()) __builtin_trap();
  again.Encode(&twice);
  if (once != twice) __builtin_trap();
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
