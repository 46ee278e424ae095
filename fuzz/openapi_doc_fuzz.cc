// libFuzzer target: OpenAPI documents (outside input to `backsight api diff`) must load or fail
// with a clear InvalidArgument, never crash or hang; a loaded document is then diffed
// against itself (exercising every comparison on hostile input).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backsight/analyze/api/differ.h"
#include "backsight/analyze/api/document.h"
#include "fuzz_util.h"

static int FuzzOne(const uint8_t* data, size_t size) {
  backsight::api::Spec spec;
  backsight::Status st = backsight::api::LoadSpecText(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", &spec);
  if (st.ok()) (void)backsight::api::DiffSpecs(spec, spec);
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
