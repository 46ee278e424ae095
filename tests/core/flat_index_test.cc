#include "backsight/core/flat_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace backsight {
namespace {

TEST(FlatIndexTest, MatchesStdUnorderedMapUnderRandomOps) {
  FlatIndex idx;
  std::unordered_map<uint64_t, uint32_t> ref;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    // Small key space so inserts, overwrites and erases collide often; include key 0.
    uint64_t k = rng() % 5000;
    if (k % 7 == 0) k <<= 40;  // keys sharing low bits
    switch (rng() % 3) {
      case 0:
      case 1: {
        uint32_t v = static_cast<uint32_t>(rng() % 1'000'000);
        idx.Put(k, v);
        ref[k] = v;
        break;
      }
      case 2:
        idx.Erase(k);
        ref.erase(k);
        break;
    }
    if (i % 1000 == 0) {
      ASSERT_EQ(idx.size(), ref.size());
      for (uint64_t q = 0; q < 5000; q += 37) {
        auto it = ref.find(q);
        ASSERT_EQ(idx.Find(q), it == ref.end() ? FlatIndex::kNone : it->second) << q;
      }
    }
  }
  for (const auto& [k, v] : ref) ASSERT_EQ(idx.Find(k), v);
}

}  // namespace
}  // namespace backsight
