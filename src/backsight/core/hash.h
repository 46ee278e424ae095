// Hash mixing shared by the hash tables keyed by several fields.
#ifndef BACKSIGHT_CORE_HASH_H_
#define BACKSIGHT_CORE_HASH_H_

#include <cstdint>

namespace backsight {

/// Mixes hash `v` into `seed` (boost::hash_combine with the 64-bit golden-ratio constant
/// 2^64 / phi): order-dependent, cheap, for composite keys of in-memory tables (not for anything
/// stored or compared across processes).
inline uint64_t HashCombine(uint64_t seed, uint64_t v) {
  return seed ^ (v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace backsight

#endif  // BACKSIGHT_CORE_HASH_H_
