#include "backsight/traces/attribution.h"

#include <gtest/gtest.h>

#include "span_test_util.h"

namespace backsight::traces {
namespace {

// One request: frontend GET / (root) -> client stub "Cart/Get" -> cart server span, plus a call
// to currency. `cart_wait_ms` is the client-side time around the cart server span (network),
// `currency_ms` the currency server span's own time.
void AddTrace(std::vector<ingest::Span>* out, int i, int64_t cart_wait_ms, int64_t currency_ms) {
  std::string t = "t";
  t += std::to_string(i);
  const int64_t t0 = i * 10000;
  const int64_t cart_end = t0 + 2 + 5 + cart_wait_ms;
  out->push_back(MakeSpan(t, "root", "", "frontend", "GET /", t0, cart_end + currency_ms + 4));
  out->push_back(MakeSpan(t, "stub", "root", "frontend", "Cart/Get", t0 + 1, cart_end + 1));
  out->push_back(MakeSpan(t, "srv", "stub", "cart", "Cart/Get", t0 + 2 + cart_wait_ms / 2,
                          t0 + 2 + cart_wait_ms / 2 + 5));
  out->push_back(
      MakeSpan(t, "cur", "root", "currency", "Convert", cart_end + 2, cart_end + 2 + currency_ms));
}

TEST(Attribution, NamesTheDelayedCalleeOfAClientStub) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) AddTrace(&base, i, 2 + i % 3, 20 + i % 5);
  for (int i = 0; i < 50; ++i) AddTrace(&win, 100 + i, 102 + i % 3, 20 + i % 5);  // +100 ms
  Attribution a = AttributeLatency(base, win);
  EXPECT_EQ(a.baseline_traces, 50u);
  EXPECT_EQ(a.slow_traces, 50u);
  ASSERT_FALSE(a.rows.empty());
  EXPECT_EQ(a.rows[0].service, "frontend");
  EXPECT_EQ(a.rows[0].operation, "Cart/Get");
  EXPECT_EQ(a.rows[0].peer_service, "cart");
  EXPECT_GT(a.rows[0].share, 0.9);
  EXPECT_NEAR(a.rows[0].slow_self_ms - a.rows[0].normal_self_ms, 100, 2);
  EXPECT_FALSE(a.rows[0].example_trace_id.empty());
  ASSERT_FALSE(a.suspects.empty());
  EXPECT_EQ(a.suspects[0].service, "cart");
}

TEST(Attribution, OwnSelfTimeRiseNamesTheService) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) AddTrace(&base, i, 2, 20 + i % 5);
  for (int i = 0; i < 50; ++i) AddTrace(&win, 100 + i, 2, 200 + i % 5);
  Attribution a = AttributeLatency(base, win);
  ASSERT_FALSE(a.rows.empty());
  EXPECT_EQ(a.rows[0].service, "currency");
  EXPECT_EQ(a.rows[0].peer_service, "");
  EXPECT_EQ(a.suspects[0].service, "currency");
  // No rise: no slow traces, nothing named.
  EXPECT_TRUE(AttributeLatency(base, base).rows.empty() ||
              AttributeLatency(base, base).slow_traces == 0);
}

// A rare request: frontend POST /checkout -> client stub -> checkout server span (5 ms);
// `wait_ms` is the client-side time around it.
void AddCheckout(std::vector<ingest::Span>* out, int i, int64_t wait_ms) {
  std::string t = "c";
  t += std::to_string(i);
  const int64_t t0 = i * 10000 + 5000;
  out->push_back(MakeSpan(t, "root", "", "frontend", "POST /checkout", t0, t0 + wait_ms + 8));
  out->push_back(
      MakeSpan(t, "stub", "root", "frontend", "Checkout/Place", t0 + 1, t0 + 6 + wait_ms));
  out->push_back(MakeSpan(t, "srv", "stub", "checkout", "Checkout/Place", t0 + 1 + wait_ms / 2,
                          t0 + 6 + wait_ms / 2));
}

TEST(Attribution, ARareDelayedCallIsNamedOverTheOrdinarySpreadOfBusyNodes) {
  // GET / is frequent and its currency time spreads widely (20..400 ms) in both periods: its
  // slow traces are slow by currency, as in any minute. The rare checkout calls wait 30 ms more
  // in the window: the only node whose time moved.
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 100; ++i) AddTrace(&base, i, 2, 20 + (i * 37) % 380);
  for (int i = 0; i < 100; ++i) AddTrace(&win, 1000 + i, 2, 20 + (i * 53) % 380);
  for (int i = 0; i < 8; ++i) AddCheckout(&base, i, 2);
  for (int i = 0; i < 8; ++i) AddCheckout(&win, 1000 + i, 32);
  Attribution a = AttributeLatency(base, win);
  ASSERT_FALSE(a.suspects.empty());
  EXPECT_EQ(a.suspects[0].service, "checkout");
}

// A CPU-starved caller: every one of its calls waits longer, whichever callee it goes to, while
// each callee's own time is unchanged. One cause (the caller) explains all four slow call edges
// better than any one callee does, even the one whose wait rose most.
TEST(Attribution, ACallerWhoseEveryCallWaitsLongerIsNamedOverItsCallees) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) {
    const int64_t j = i % 3;
    AddFanOut(&base, i, {2 + j, 2 + j, 2 + j, 2 + j});
    AddFanOut(&win, 100 + i, {100 + j, 100 + j, 100 + j, 130 + j});
  }
  Attribution a = AttributeLatency(base, win);
  ASSERT_GE(a.suspects.size(), 2u);
  EXPECT_EQ(a.suspects[0].service, "frontend");
  EXPECT_EQ(a.suspects[1].service, "shipping");
  // Every edge of frontend is slow, the largest rise first.
  EXPECT_EQ(a.suspects[0].callees, 4u);
  ASSERT_EQ(a.suspects[0].slow_callees.size(), 4u);
  EXPECT_EQ(a.suspects[0].slow_callees[0], "shipping");
  EXPECT_EQ(a.suspects[0].callers, 0u);
}

// The same fan-out with one callee delayed: the callee, not the caller, is named.
TEST(Attribution, OneSlowCallEdgeAmongFourNamesItsCallee) {
  std::vector<ingest::Span> base, win;
  for (int i = 0; i < 50; ++i) {
    const int64_t j = i % 3;
    AddFanOut(&base, i, {2 + j, 2 + j, 2 + j, 2 + j});
    AddFanOut(&win, 100 + i, {2 + j, 100 + j, 2 + j, 2 + j});
  }
  Attribution a = AttributeLatency(base, win);
  ASSERT_FALSE(a.suspects.empty());
  EXPECT_EQ(a.suspects[0].service, "cart");
  EXPECT_EQ(a.suspects[0].callers, 1u);
  EXPECT_EQ(a.suspects[0].slow_callers, std::vector<std::string>{"frontend"});
  for (const auto& s : a.suspects) {
    if (s.service == "frontend") {
      EXPECT_EQ(s.callees, 4u);
      EXPECT_EQ(s.slow_callees, std::vector<std::string>{"cart"});
    }
  }
}

}  // namespace
}  // namespace backsight::traces
