#include "backsight/core/bounded_fifo_map.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace backsight {
namespace {

TEST(BoundedFifoMapTest, PastItsCapacityTheOldestGoesAndTheNewestStays) {
  BoundedFifoMap<std::string, int> m(3);
  EXPECT_TRUE(m.Put(std::string_view("a"), 1));
  EXPECT_TRUE(m.Put(std::string_view("b"), 2));
  EXPECT_TRUE(m.Put(std::string_view("c"), 3));
  EXPECT_TRUE(m.Put(std::string_view("d"), 4));
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.Find(std::string_view("a")), nullptr);
  ASSERT_NE(m.Find(std::string_view("d")), nullptr);
  EXPECT_EQ(*m.Find(std::string_view("d")), 4);
  EXPECT_EQ(*m.Find(std::string_view("b")), 2);
}

TEST(BoundedFifoMapTest, UpdatingAValueKeepsItsPlace) {
  BoundedFifoMap<std::string, int> m(2);
  m.Put(std::string("a"), 1);
  m.Put(std::string("b"), 2);
  EXPECT_FALSE(m.Put(std::string("a"), 10));  // "a" is still the oldest
  m.Put(std::string("c"), 3);
  EXPECT_EQ(m.Find(std::string("a")), nullptr);
  EXPECT_EQ(*m.Find(std::string("b")), 2);
  EXPECT_EQ(*m.Find(std::string("c")), 3);
}

TEST(BoundedFifoMapTest, ManyKeysStayWithinTheCapacityAndTheLatestAreKept) {
  BoundedFifoMap<uint64_t, bool> m(100);
  for (uint64_t k = 0; k < 10'000; ++k) m.Put(k, true);
  EXPECT_EQ(m.size(), 100u);
  EXPECT_EQ(m.Find(uint64_t{9'899}), nullptr);
  for (uint64_t k = 9'900; k < 10'000; ++k) EXPECT_NE(m.Find(k), nullptr) << k;
}

TEST(BoundedFifoMapTest, ZeroCapacityHoldsOne) {
  BoundedFifoMap<int, int> m(0);
  m.Put(1, 1);
  m.Put(2, 2);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_NE(m.Find(2), nullptr);
}

}  // namespace
}  // namespace backsight
