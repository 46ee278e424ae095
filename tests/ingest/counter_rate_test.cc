#include "backsight/ingest/counter_rate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace backsight::ingest {
namespace {

constexpr TimestampNs kS = kNanosPerSecond;

TEST(CounterRate, FirstSampleYieldsNoRateThenDifferences) {
  CounterRate r;
  double rate = -1;
  EXPECT_FALSE(r.Update(10 * kS, 100, &rate));
  EXPECT_EQ(rate, -1);
  ASSERT_TRUE(r.Update(20 * kS, 150, &rate));
  EXPECT_DOUBLE_EQ(rate, 5.0);
  ASSERT_TRUE(r.Update(20 * kS + kS / 2, 151, &rate));
  EXPECT_DOUBLE_EQ(rate, 2.0);
}

TEST(CounterRate, DropIsAResetCountedFromZero) {
  CounterRate r;
  double rate;
  r.Update(0, 1000, &rate);
  ASSERT_TRUE(r.Update(10 * kS, 1100, &rate));
  EXPECT_DOUBLE_EQ(rate, 10.0);
  ASSERT_TRUE(r.Update(20 * kS, 30, &rate));  // process restarted: increase is 30, not -1070
  EXPECT_DOUBLE_EQ(rate, 3.0);
  EXPECT_EQ(r.resets(), 1u);
  ASSERT_TRUE(r.Update(30 * kS, 50, &rate));
  EXPECT_DOUBLE_EQ(rate, 2.0);
}

TEST(CounterRate, OutOfOrderAndStaleSamples) {
  CounterRate r;
  double rate = -1;
  r.Update(10 * kS, 5, &rate);
  EXPECT_FALSE(r.Update(10 * kS, 6, &rate));  // same timestamp: ignored
  EXPECT_FALSE(r.Update(5 * kS, 7, &rate));   // older: ignored
  ASSERT_TRUE(r.Update(20 * kS, 15, &rate));
  EXPECT_DOUBLE_EQ(rate, 1.0);
  EXPECT_FALSE(r.Update(30 * kS, std::nan(""), &rate));  // staleness marker forgets state
  EXPECT_FALSE(r.primed());
  EXPECT_FALSE(r.Update(40 * kS, 100, &rate));
  ASSERT_TRUE(r.Update(50 * kS, 110, &rate));
  EXPECT_DOUBLE_EQ(rate, 1.0);
}

TEST(CounterRate, SaveLoadRoundTrip) {
  CounterRate a;
  double rate;
  a.Update(1 * kS, 10, &rate);
  std::string buf;
  ByteWriter w(&buf);
  a.Save(&w);
  CounterRate b;
  ByteReader rd(buf);
  ASSERT_TRUE(b.Load(&rd).ok());
  ASSERT_TRUE(b.Update(3 * kS, 14, &rate));
  EXPECT_DOUBLE_EQ(rate, 2.0);
  ByteReader shortr(std::string_view(buf).substr(0, 3));
  EXPECT_FALSE(CounterRate().Load(&shortr).ok());
}

}  // namespace
}  // namespace backsight::ingest
