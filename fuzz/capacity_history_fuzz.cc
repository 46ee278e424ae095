// libFuzzer target: the capacity history row (`BSCH` v1/v2, docs/formats.md §5g) read back from the
// `capacity` table of the state database, which an operator may copy, truncate or damage.
// Arbitrary bytes must give OK or Corruption, never a crash, a hang or an allocation sized by a
// length field. An accepted row must be one CapacityService can take in without overflow (its
// step and open bucket's end in ns, as Observe and CloseBucket compute them; the open bucket's
// count in an int, a finite sum), and saving it, decoding that and saving again gives the same
// bytes.
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/server/capacity_history.h"
#include "fuzz_util.h"

namespace {

constexpr int64_t kNsPerMs = 1'000'000;

int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  backsight::server::CapacityHistory h;
  if (!backsight::server::DecodeCapacityHistory(in, &h).ok()) return 0;
  if (h.buckets.size() > backsight::server::kMaxCapacityHistory) __builtin_trap();
  if (!std::isfinite(h.open_sum) || h.open_count > static_cast<uint64_t>(INT_MAX)) {
    __builtin_trap();  // the service keeps the count in an int and means the sum
  }
  // What CapacityService::Observe and CloseBucket compute from a restored row.
  int64_t step_ns = 0, end = 0;
  if (__builtin_mul_overflow(h.step_ms, kNsPerMs, &step_ns)) __builtin_trap();
  if (h.open_bucket != INT64_MIN && (__builtin_add_overflow(h.open_bucket, 1, &end) ||
                                     __builtin_mul_overflow(end, step_ns, &end))) {
    __builtin_trap();
  }
  std::string once, twice;
  backsight::server::EncodeCapacityHistory(h, &once);
  backsight::server::CapacityHistory again;
  if (!backsight::server::DecodeCapacityHistory(once, &again).ok()) __builtin_trap();
  backsight::server::EncodeCapacityHistory(again, &twice);
  if (once != twice) __builtin_trap();
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
