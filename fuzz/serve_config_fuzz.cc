// libFuzzer target: `backsight serve` YAML configuration (outside input) must yield OK or a
// clear InvalidArgument, never a crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backsight/server/config.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  backsight::server::ServeConfig c;
  (void)backsight::server::LoadConfigText(std::string(reinterpret_cast<const char*>(data), size),
                                          "fuzz.yml", &c);
  int64_t ms;
  (void)backsight::server::ParseDurationMs(std::string(reinterpret_cast<const char*>(data), size),
                                           &ms);
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
