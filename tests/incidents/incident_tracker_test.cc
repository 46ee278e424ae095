// IncidentTracker on synthetic episodes: grouping by time, labels and graph; resolution; cause
// order (first movers, callee before caller); weak evidence; bounds; JSON round trip.
#include "backsight/incidents/incident_tracker.h"

#include <gtest/gtest.h>

namespace backsight::incidents {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr TimestampNs kT0 = 1'764'000'000LL * kS;

Member M(const std::string& key, const std::string& service, int64_t start_s, double score = 5,
         double value = 10, double baseline = 2) {
  Member m;
  m.key = key;
  m.indicator = key;
  m.service = service;
  if (!service.empty()) m.labels = {{"service", service}};
  m.start_ns = kT0 + start_s * kS;
  m.peak_score = score;
  m.peak_value = value;
  m.baseline = baseline;
  return m;
}

IncidentOptions Opts() {
  IncidentOptions o;
  o.gap_ns = 60 * kS;
  o.resolve_after_ns = 120 * kS;
  return o;
}

TEST(IncidentTracker, RelatedMembersWithinGapShareOneIncident) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}});
  const uint64_t a = t.Open(M("cart_latency", "cart", 0));
  // Same service label, other series.
  EXPECT_EQ(t.Open(M("cart_errors", "cart", 10)), a);
  // Other service, next to cart in the graph.
  EXPECT_EQ(t.Open(M("frontend_latency", "frontend", 20)), a);
  // A service with no shared label and no edge opens its own incident.
  const uint64_t b = t.Open(M("batch_cpu", "batch", 25));
  EXPECT_NE(b, a);
  ASSERT_NE(t.Get(a), nullptr);
  EXPECT_EQ(t.Get(a)->members.size(), 3u);
  EXPECT_EQ(t.open_count(), 2u);
  // Shared namespace label relates two services without a graph edge.
  Member ns = M("payments_latency", "payments", 30);
  ns.labels = {{"namespace", "prod"}, {"service", "payments"}};
  Member ns2 = M("batch_queue", "queue", 31);
  ns2.labels = {{"namespace", "prod"}, {"service", "queue"}};
  const uint64_t c = t.Open(ns);
  EXPECT_EQ(t.Open(ns2), c);
}

TEST(IncidentTracker, SplitByTimeAndResolve) {
  IncidentTracker t(Opts());
  const uint64_t a = t.Open(M("cart_latency", "cart", 0));
  t.Close("cart_latency", kT0 + 5 * kS);
  // Within the gap of the last activity (the close at 5 s): same incident.
  EXPECT_EQ(t.Open(M("cart_errors", "cart", 60)), a);
  t.Close("cart_errors", kT0 + 70 * kS);
  // Not resolved before resolve_after has passed since the last close.
  EXPECT_TRUE(t.Advance(kT0 + 100 * kS).empty());
  EXPECT_TRUE(t.Get(a)->open());
  EXPECT_EQ(t.Advance(kT0 + 190 * kS), std::vector<uint64_t>{a});
  EXPECT_FALSE(t.Get(a)->open());
  // Same service, after the gap: a new incident.
  const uint64_t b = t.Open(M("cart_latency", "cart", 400));
  EXPECT_NE(b, a);
  // An open member keeps its incident open whatever the time.
  EXPECT_TRUE(t.Advance(kT0 + 10'000 * kS).empty());
  EXPECT_EQ(t.stats().resolved, 1u);
}

TEST(IncidentTracker, GapIsMeasuredFromLastActivity) {
  IncidentTracker t(Opts());
  const uint64_t a = t.Open(M("x", "cart", 0));
  EXPECT_NE(t.Open(M("y", "cart", 61)), a);
}

TEST(IncidentTracker, FirstMoverRanksFirstWithoutGraph) {
  IncidentTracker t(Opts());
  Member late = M("frontend_latency", "frontend", 30, 9);
  late.labels.push_back({"job", "shop"});
  Member early = M("cart_latency", "cart", 0, 3, 12, 2);
  early.labels.push_back({"job", "shop"});
  const uint64_t id = t.Open(early);
  ASSERT_EQ(t.Open(late), id);
  const Incident* inc = t.Get(id);
  ASSERT_EQ(inc->causes.size(), 2u);
  EXPECT_EQ(inc->causes[0].service, "cart");
  EXPECT_EQ(inc->TopService(), "cart");
  EXPECT_NE(inc->causes[0].explanation.find("cart: cart_latency rose x6 at"), std::string::npos)
      << inc->causes[0].explanation;
  EXPECT_NE(inc->causes[0].explanation.find("30 s before the first anomaly in another service"),
            std::string::npos)
      << inc->causes[0].explanation;
}

TEST(IncidentTracker, CalleeRanksBeforeCallerOnTheGraph) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}, {"cart", "redis"}});
  // The caller moved first (its alert fired earlier), but it calls an anomalous service.
  const uint64_t id = t.Open(M("frontend_latency", "frontend", 0, 8));
  t.Open(M("cart_latency", "cart", 2, 4));
  const Incident* inc = t.Get(id);
  ASSERT_EQ(inc->causes.size(), 2u);
  EXPECT_EQ(inc->causes[0].service, "cart");
  EXPECT_EQ(inc->causes[1].service, "frontend");
  EXPECT_NE(inc->causes[1].explanation.find("likely a victim"), std::string::npos);
  // cart's caller moved 2 s earlier: said in words, upstream.
  EXPECT_NE(inc->causes[0].explanation.find("2 s after the first upstream anomaly"),
            std::string::npos)
      << inc->causes[0].explanation;
  EXPECT_NE(inc->causes[1].explanation.find("2 s before the first anomaly in another service"),
            std::string::npos)
      << inc->causes[1].explanation;
  // Without the graph, the first mover wins.
  IncidentTracker u(Opts());
  const uint64_t id2 = u.Open(M("frontend_latency", "frontend", 0, 8));
  Member cart = M("cart_latency", "cart", 2, 4);
  cart.labels.clear();  // no shared label: related by time alone
  cart.service.clear();
  u.Open(cart);
  EXPECT_EQ(u.Get(id2)->causes[0].service, "frontend");
}

// The two ends of a call chain open apart (frontend and payment are not adjacent); checkout,
// between them, relates to both: one incident, the newer merged into the older.
TEST(IncidentTracker, MemberRelatedToTwoIncidentsMergesThem) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "checkout"}, {"checkout", "payment"}});
  const uint64_t pay = t.Open(M("payment_latency", "payment", 0, 9));
  const uint64_t front = t.Open(M("frontend_latency", "frontend", 1, 6));
  ASSERT_NE(pay, front);
  EXPECT_EQ(t.open_count(), 2u);
  t.TakeChanged();
  EXPECT_EQ(t.Open(M("checkout_latency", "checkout", 2, 7)), pay);
  EXPECT_EQ(t.open_count(), 1u);
  const Incident* inc = t.Get(pay);
  ASSERT_EQ(inc->members.size(), 3u);
  ASSERT_EQ(inc->causes.size(), 3u);
  EXPECT_EQ(inc->causes[0].service, "payment");
  const Incident* merged = t.Get(front);
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->merged_into, pay);
  EXPECT_FALSE(merged->open());
  EXPECT_TRUE(merged->members.empty());
  EXPECT_EQ(IncidentToJson(*merged)["state"], "merged");
  EXPECT_EQ(t.TakeChanged(), (std::vector<uint64_t>{pay, front}));
  // The moved member is the merged incident's open member now: it closes there.
  t.Close("frontend_latency", kT0 + 5 * kS);
  EXPECT_NE(inc->members[1].end_ns, 0);
  // merged_into survives the JSON round trip.
  Incident back;
  ASSERT_TRUE(IncidentFromJson(IncidentToJson(*merged), &back).ok());
  EXPECT_EQ(back.merged_into, pay);
}

TEST(IncidentTracker, WeakEvidenceNamesNoCause) {
  IncidentTracker t(Opts());
  const uint64_t id = t.Open(M("cart_latency", "cart", 0, 1.1));
  EXPECT_TRUE(t.Get(id)->causes.empty());
  EXPECT_NE(t.Get(id)->no_cause_reason.find("weak evidence"), std::string::npos);
  // A stronger peak later names it.
  t.Peak("cart_latency", 4, 20, 2);
  ASSERT_EQ(t.Get(id)->causes.size(), 1u);
  EXPECT_NE(t.Get(id)->causes[0].explanation.find("rose x10"), std::string::npos);
}

TEST(IncidentTracker, BoundsAreCounted) {
  IncidentOptions o = Opts();
  o.max_open = 2;
  o.max_members = 2;
  IncidentTracker t(o);
  const uint64_t a = t.Open(M("a1", "a", 0));
  t.Open(M("a2", "a", 1));
  EXPECT_EQ(t.Open(M("a3", "a", 2)), a);
  EXPECT_EQ(t.Get(a)->members.size(), 2u);
  EXPECT_EQ(t.Get(a)->members_dropped, 1u);
  EXPECT_NE(t.Open(M("b1", "b", 3)), 0u);
  EXPECT_EQ(t.Open(M("c1", "c", 4)), 0u);
  EXPECT_EQ(t.stats().incidents_dropped, 1u);
  EXPECT_EQ(t.stats().members_dropped, 1u);
}

TEST(IncidentTracker, JsonRoundTripAndRestore) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}});
  const uint64_t id = t.Open(M("cart_latency", "cart", 0));
  t.Open(M("frontend_latency", "frontend", 3));
  t.Close("cart_latency", kT0 + 9 * kS);
  const nlohmann::json j = IncidentToJson(*t.Get(id));
  Incident back;
  ASSERT_TRUE(IncidentFromJson(nlohmann::json::parse(j.dump()), &back).ok());
  EXPECT_EQ(IncidentToJson(back), j);
  EXPECT_EQ(j["causes"][0]["service"], "cart");
  EXPECT_EQ(j["members"].size(), 2u);
  Incident bad;
  EXPECT_FALSE(IncidentFromJson(nlohmann::json{{"id", 1}}, &bad).ok());
  // Restored into a new tracker: open, its open member still closes, ids continue.
  IncidentTracker r(Opts());
  r.Restore(back);
  EXPECT_EQ(r.open_count(), 1u);
  r.Close("frontend_latency", kT0 + 10 * kS);
  EXPECT_EQ(r.Advance(kT0 + 200 * kS), std::vector<uint64_t>{id});
  EXPECT_GT(r.Open(M("x", "other", 1000)), id);
}

}  // namespace
}  // namespace backsight::incidents
