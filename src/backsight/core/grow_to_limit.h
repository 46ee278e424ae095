// GrowToLimit: growing a bounded string buffer without doubling's copies.
#ifndef BACKSIGHT_CORE_GROW_TO_LIMIT_H_
#define BACKSIGHT_CORE_GROW_TO_LIMIT_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace backsight {

/// Past this size a growing buffer gets its whole limit reserved at once (GrowToLimit): 1 MiB,
/// where doubling's copies start to cost more than an mmap'd reservation.
inline constexpr size_t kGrowToLimitFrom = 1 << 20;

/// Makes room to append `add` bytes to `*s`, whose size may reach `limit` bytes: once it needs
/// more than kGrowToLimitFrom bytes, reserves `limit` in one step instead of doubling. A large
/// reservation is a fresh mmap whose pages count in RSS only once written, so a buffer cut at its
/// limit costs its size, not the 1.5x of doubling's copies (and no heap fragmentation).
inline void GrowToLimit(std::string* s, size_t add, uint64_t limit) {
  const size_t need = s->size() + add;
  if (need > s->capacity() && need > kGrowToLimitFrom && need <= limit) s->reserve(limit);
}

}  // namespace backsight

#endif  // BACKSIGHT_CORE_GROW_TO_LIMIT_H_
