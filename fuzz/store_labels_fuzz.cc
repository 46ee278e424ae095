// libFuzzer target: label sets read back from the SQLite state store (bytes on disk).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backsight/store/state_store.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  backsight::Labels labels;
  (void)backsight::store::DecodeLabels(std::string_view(reinterpret_cast<const char*>(data), size),
                                       &labels);
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
