// IncidentTracker on synthetic episodes: grouping by time, labels and graph; resolution; cause
// order (first movers, callee before caller); weak evidence; bounds; JSON round trip; security,
// database and trace finding members; edge series relating to both their services.
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

TEST(IncidentTracker, NearSimultaneousOnsetsAreSaidToBeTogether) {
  IncidentTracker t(Opts());
  Member a = M("cart_latency", "cart", 0, 6);
  a.labels.push_back({"job", "shop"});
  Member b = M("frontend_latency", "frontend", 0, 3);
  b.labels.push_back({"job", "shop"});
  b.start_ns += 300'000;  // 0.3 ms later: no order worth saying
  const uint64_t id = t.Open(a);
  ASSERT_EQ(t.Open(b), id);
  const Incident* inc = t.Get(id);
  ASSERT_EQ(inc->causes.size(), 2u);
  for (const auto& cause : inc->causes) {
    EXPECT_NE(cause.explanation.find("together with the first anomaly in another service (within "
                                     "1 s)"),
              std::string::npos)
        << cause.explanation;
    EXPECT_EQ(cause.explanation.find(" s before"), std::string::npos) << cause.explanation;
  }
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

// A security finding (point member) joins the incident of its log stream's service and names
// its source address; a finding from the same address in another service joins by source_ip.
TEST(IncidentTracker, SecurityFindingJoinsByServiceAndSourceIp) {
  IncidentTracker t(Opts());
  Member sec = M("security:203.0.113.66:brute_force", "web", 0, 4.2, 0, 0);
  sec.signal = Signal::kSecurity;
  sec.indicator = "brute_force from 203.0.113.66";
  sec.labels = {{"service", "web"}, {"source_ip", "203.0.113.66"}};
  sec.end_ns = sec.start_ns;
  const uint64_t a = t.Open(sec);
  EXPECT_EQ(t.Open(M("web_latency", "web", 5)), a);
  Member ssh = sec;
  ssh.key = "security:203.0.113.66:scanner";
  ssh.service = "bastion";
  ssh.labels = {{"service", "bastion"}, {"source_ip", "203.0.113.66"}};
  EXPECT_EQ(t.Open(ssh), a);
  EXPECT_NE(t.Open(M("db_cpu", "db", 6)), a);
  const Incident* inc = t.Get(a);
  ASSERT_EQ(inc->members.size(), 3u);
  EXPECT_EQ(inc->members[0].signal, Signal::kSecurity);
  ASSERT_FALSE(inc->causes.empty());
  EXPECT_EQ(inc->causes[0].service, "web");
  EXPECT_NE(inc->causes[0].explanation.find("web: brute_force from 203.0.113.66 found (score 4.2)"),
            std::string::npos)
      << inc->causes[0].explanation;
}

// A query regression groups with the watch's own series of its database (label database) and
// with a service next to the database in the graph; its cause sentence names the means.
TEST(IncidentTracker, DatabaseRegressionGroupsByDatabaseAndGraph) {
  IncidentTracker t(Opts());
  t.SetGraph({{"orders-api", "ordersdb"}});
  Member series = M("series:pg", "", 0, 3, 0.041, 0.0031);
  series.labels = {{"database", "ordersdb"}};
  const uint64_t a = t.Open(series);
  Member db = M("db:ordersdb:00000000000000ab", "ordersdb", 2, 13.2, 41, 3.1);
  db.signal = Signal::kDatabase;
  db.indicator = "statement `SELECT * FROM orders WHERE id = $1`";
  db.labels = {{"database", "ordersdb"}, {"service", "ordersdb"}};
  db.end_ns = db.start_ns + 30 * kS;
  EXPECT_EQ(t.Open(db), a);
  EXPECT_EQ(t.Open(M("api_latency", "orders-api", 10)), a);
  const Incident* inc = t.Get(a);
  ASSERT_EQ(inc->members.size(), 3u);
  ASSERT_FALSE(inc->causes.empty());
  EXPECT_EQ(inc->causes[0].service, "ordersdb");
  EXPECT_NE(inc->causes[0].explanation.find(
                "ordersdb: statement `SELECT * FROM orders WHERE id = $1` mean 3.1 ms -> 41 ms "
                "(x13.2) since "),
            std::string::npos)
      << inc->causes[0].explanation;
}

// A trace finding seen again is one member (end and peak extended); it relates by its service
// and by graph adjacency.
TEST(IncidentTracker, TraceFindingSeenAgainExtendsOneMember) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}});
  auto finding = [](int64_t at_s, double score) {
    Member f = M("finding:n_plus_one:cart:SELECT ?", "cart", at_s, score, 0, 0);
    f.signal = Signal::kTrace;
    f.indicator = "n_plus_one on SELECT ?";
    f.evidence = "40 calls per parent";
    f.end_ns = f.start_ns;
    return f;
  };
  const uint64_t a = t.Open(M("frontend_latency", "frontend", 0));
  EXPECT_EQ(t.Open(finding(5, 3)), a);
  Member again = finding(20, 6);
  again.evidence = "45 calls per parent";
  EXPECT_EQ(t.Open(again), a);
  const Incident* inc = t.Get(a);
  ASSERT_EQ(inc->members.size(), 2u);
  EXPECT_EQ(inc->members[1].end_ns, kT0 + 20 * kS);
  EXPECT_EQ(inc->members[1].peak_score, 6);
  EXPECT_EQ(inc->members[1].evidence, "45 calls per parent");
  EXPECT_EQ(inc->members[1].signal, Signal::kTrace);
  EXPECT_EQ(t.stats().members, 2u);
  // cart (callee) ranks first; its finding is the indicator.
  ASSERT_EQ(inc->causes.size(), 2u);
  EXPECT_NE(inc->causes[0].explanation.find("cart: n_plus_one on SELECT ? found (score 6)"),
            std::string::npos)
      << inc->causes[0].explanation;
}

// An edge series (labels client/server, no service) relates to both its services, so members of
// either end join its incident without a graph; an edge-only incident names the server.
TEST(IncidentTracker, EdgeMemberRelatesToClientAndServer) {
  IncidentTracker t(Opts());
  Member edge = M("series:edge", "", 0);
  edge.labels = {{"client", "frontend"}, {"server", "cart"}};
  const uint64_t a = t.Open(edge);
  EXPECT_EQ(MemberServices(edge), (std::vector<std::string>{"frontend", "cart"}));
  ASSERT_FALSE(t.Get(a)->causes.empty());
  EXPECT_EQ(t.Get(a)->causes[0].service, "cart");
  EXPECT_EQ(t.Open(M("frontend_latency", "frontend", 5)), a);
  EXPECT_EQ(t.Open(M("cart_errors", "cart", 6)), a);
  EXPECT_NE(t.Open(M("batch_cpu", "batch", 7)), a);
  // An edge of another pair that shares one service also joins.
  Member edge2 = M("series:edge2", "", 8);
  edge2.labels = {{"client", "cart"}, {"server", "payments"}};
  EXPECT_EQ(t.Open(edge2), a);
  EXPECT_EQ(t.Get(a)->members.size(), 4u);
}

// New member kinds and evidence survive the stored JSON; a row written before evidence existed
// still loads; an unknown signal is an error naming it.
TEST(IncidentTracker, NewMemberKindsRoundTripAndOldRowsLoad) {
  IncidentTracker t(Opts());
  Member sec = M("security:1.2.3.4:scanner", "web", 0, 3, 0, 0);
  sec.signal = Signal::kSecurity;
  sec.evidence = "404 ratio 0.9";
  sec.end_ns = sec.start_ns;
  const uint64_t id = t.Open(sec);
  Member db = M("db:web:01", "web", 1, 5, 20, 2);
  db.signal = Signal::kDatabase;
  db.end_ns = db.start_ns;
  t.Open(db);
  const nlohmann::json j = IncidentToJson(*t.Get(id));
  EXPECT_EQ(j["members"][0]["signal"], "security");
  EXPECT_EQ(j["members"][0]["evidence"], "404 ratio 0.9");
  EXPECT_EQ(j["members"][1]["signal"], "database");
  Incident back;
  ASSERT_TRUE(IncidentFromJson(nlohmann::json::parse(j.dump()), &back).ok());
  EXPECT_EQ(IncidentToJson(back), j);
  EXPECT_EQ(back.members[0].signal, Signal::kSecurity);
  EXPECT_EQ(back.members[1].signal, Signal::kDatabase);
  nlohmann::json old = j;
  for (auto& m : old["members"]) m.erase("evidence");
  old["members"][0]["signal"] = "log";
  Incident old_back;
  ASSERT_TRUE(IncidentFromJson(old, &old_back).ok());
  EXPECT_EQ(old_back.members[0].signal, Signal::kLog);
  EXPECT_EQ(old_back.members[0].evidence, "");
  nlohmann::json unknown = j;
  unknown["members"][0]["signal"] = "quantum";
  Incident bad;
  const Status st = IncidentFromJson(unknown, &bad);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("quantum"), std::string::npos);
}

}  // namespace
}  // namespace backsight::incidents

namespace backsight::incidents {
namespace {

// Trace evidence naming `strong` (strength 6, a "waiting on" explanation) and `weak` (strength
// 2), with `margin`.
TraceLatencyEvidence Evidence(double margin, const std::string& strong, const std::string& weak) {
  TraceLatencyEvidence e;
  e.margin = margin;
  e.services[strong] = {6, "GET /checkout",
                        strong + " waiting on cart in GET /checkout 120 ms per slow trace"};
  e.services[weak] = {2, "GET /cart", weak + " GET /cart self time 3 ms per slow trace"};
  return e;
}

// The heuristic ranks cart (the callee, first mover) before frontend (a caller of an anomalous
// service); significant trace evidence naming frontend puts it first, with the trace sentence;
// evidence below its threshold (margin < 1) leaves today's order.
TEST(IncidentTracker, SignificantTraceEvidenceRanksItsServicesFirst) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}, {"frontend", "payment"}});
  const uint64_t id = t.Open(M("cart_latency", "cart", 0));
  EXPECT_EQ(t.Open(M("frontend_latency", "frontend", 5)), id);
  t.TakeChanged();
  ASSERT_EQ(t.Get(id)->causes.size(), 2u);
  EXPECT_EQ(t.Get(id)->causes[0].service, "cart");

  t.SetTraceEvidence(id, Evidence(0.8, "frontend", "payment"));  // not significant
  ASSERT_EQ(t.Get(id)->causes.size(), 2u);
  EXPECT_EQ(t.Get(id)->causes[0].service, "cart");
  EXPECT_EQ(t.Get(id)->causes[0].evidence, "members");
  EXPECT_EQ(t.Get(id)->causes[1].service, "frontend");
  EXPECT_TRUE(t.TakeChanged().empty());  // the ranking reads the same: not stored again

  t.SetTraceEvidence(id, Evidence(3, "frontend", "payment"));
  const Incident* inc = t.Get(id);
  ASSERT_EQ(inc->causes.size(), 2u);
  EXPECT_EQ(inc->causes[0].service, "frontend");
  EXPECT_EQ(inc->causes[0].explanation,
            "frontend: frontend waiting on cart in GET /checkout 120 ms per slow trace (trace "
            "latency attribution: 3 times the threshold share of slow traces)");
  EXPECT_EQ(inc->causes[0].indicator, "latency of GET /checkout");
  EXPECT_EQ(inc->causes[0].score, 5);  // frontend's member score
  EXPECT_EQ(inc->causes[0].evidence, "trace_latency");
  // payment (strength 2 < half of 6) is not named; cart follows by the heuristic order.
  EXPECT_EQ(inc->causes[1].service, "cart");
  EXPECT_EQ(inc->causes[1].evidence, "members");
  // The API and stored JSON say which evidence placed each cause, and read it back; a row
  // written before the field existed reads as "members".
  const nlohmann::json j = IncidentToJson(*inc, /*with_members=*/false);
  EXPECT_EQ(j["causes"][0]["evidence"], "trace_latency");
  EXPECT_EQ(j["causes"][1]["evidence"], "members");
  Incident back;
  ASSERT_TRUE(IncidentFromJson(IncidentToJson(*inc), &back).ok());
  ASSERT_EQ(back.causes.size(), 2u);
  EXPECT_EQ(back.causes[0].evidence, "trace_latency");
  nlohmann::json old = IncidentToJson(*inc);
  old["causes"][0].erase("evidence");
  ASSERT_TRUE(IncidentFromJson(old, &back).ok());
  EXPECT_EQ(back.causes[0].evidence, "members");
  EXPECT_EQ(t.TakeChanged(), std::vector<uint64_t>{id});
  EXPECT_EQ(inc->TopService(), "frontend");

  // A service named by the evidence but neither a member nor next to one is not a cause.
  t.SetTraceEvidence(id, Evidence(3, "batch", "payment"));
  EXPECT_EQ(t.Get(id)->causes[0].service, "cart");
  // A non-member next to a member is (a starved caller need not have an anomalous series).
  TraceLatencyEvidence e = Evidence(3, "payment", "frontend");
  e.services["payment"].strength = 3;
  e.services["frontend"].strength = 0.5;
  t.SetTraceEvidence(id, e);
  ASSERT_FALSE(t.Get(id)->causes.empty());
  EXPECT_EQ(t.Get(id)->causes[0].service, "payment");
  EXPECT_EQ(t.Get(id)->causes[0].score, 0);
  EXPECT_EQ(t.Get(id)->causes[0].onset_ns, t.Get(id)->start_ns);
  EXPECT_EQ(t.Get(id)->causes.size(), 3u);

  // Closed incidents ignore evidence; unknown ids too.
  t.SetTraceEvidence(999, Evidence(3, "frontend", "payment"));
}

// Trace evidence computed from `traces` complete traces in each period.
TraceLatencyEvidence WithTraces(TraceLatencyEvidence e, size_t traces) {
  e.baseline_traces = traces;
  e.window_traces = traces;
  return e;
}

// `inc` stored and read back (IncidentToJson / IncidentFromJson, as the incidents table does).
Incident StoredAndRead(const Incident& inc) {
  Incident back;
  EXPECT_TRUE(IncidentFromJson(nlohmann::json::parse(IncidentToJson(inc).dump()), &back).ok());
  return back;
}

// An open incident ranked by trace evidence, restored into a new tracker (a restart: no spans,
// no graph yet): its trace cause stays first with its explanation through graph changes,
// evidence from too few traces and a second restart, until evidence from enough traces
// replaces it.
TEST(IncidentTracker, RestoredIncidentKeepsTraceCausesUntilFreshEvidence) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}, {"frontend", "payment"}});
  const uint64_t id = t.Open(M("cart_latency", "cart", 0));
  t.Open(M("frontend_latency", "frontend", 5));
  t.SetTraceEvidence(id, WithTraces(Evidence(3, "frontend", "payment"), 40));
  const LiveCause top = t.Get(id)->causes[0];
  ASSERT_EQ(top.service, "frontend");
  ASSERT_EQ(top.evidence, kCauseByTraceLatency);

  IncidentTracker r(Opts());
  r.Restore(StoredAndRead(*t.Get(id)));
  auto expect_kept = [&](const IncidentTracker& tr, const char* when) {
    const Incident* inc = tr.Get(id);
    ASSERT_NE(inc, nullptr) << when;
    ASSERT_EQ(inc->causes.size(), 2u) << when;
    EXPECT_EQ(inc->causes[0].service, "frontend") << when;
    EXPECT_EQ(inc->causes[0].explanation, top.explanation) << when;
    EXPECT_EQ(inc->causes[0].indicator, top.indicator) << when;
    EXPECT_EQ(inc->causes[0].evidence, kCauseByTraceLatency) << when;
    EXPECT_EQ(inc->causes[1].service, "cart") << when;
    EXPECT_EQ(inc->causes[1].evidence, kCauseByMembers) << when;
  };
  expect_kept(r, "restored");
  r.SetGraph({{"frontend", "cart"}});  // re-ranks every open incident
  expect_kept(r, "graph changed");
  r.SetTraceEvidence(id, TraceLatencyEvidence{});  // the empty ring after a restart
  expect_kept(r, "no traces");
  // Significant, but from 4 baseline traces (< traces::kMinBaselineTraces): not enough.
  TraceLatencyEvidence few = WithTraces(Evidence(3, "cart", "payment"), 40);
  few.baseline_traces = traces::kMinBaselineTraces - 1;
  r.SetTraceEvidence(id, few);
  expect_kept(r, "too few traces");
  r.Open(M("cart_errors", "cart", 20, /*score=*/9));  // a new member re-ranks too
  expect_kept(r, "member joined");
  EXPECT_EQ(r.Get(id)->causes[0].score, 5);  // frontend's member score, as a fresh cause

  // A second restart before fresh evidence: still kept.
  IncidentTracker r2(Opts());
  r2.Restore(StoredAndRead(*r.Get(id)));
  expect_kept(r2, "restored twice");
  // Evidence from enough traces replaces it, significant or not.
  r2.SetTraceEvidence(id, WithTraces(Evidence(0.5, "frontend", "payment"), 40));
  ASSERT_FALSE(r2.Get(id)->causes.empty());
  EXPECT_EQ(r2.Get(id)->causes[0].service, "cart");
  EXPECT_EQ(r2.Get(id)->causes[0].evidence, kCauseByMembers);
  EXPECT_TRUE(r2.Get(id)->kept_trace_causes.empty());
  r2.SetTraceEvidence(id, TraceLatencyEvidence{});  // and they do not come back
  EXPECT_EQ(r2.Get(id)->causes[0].service, "cart");
}

// An open incident as read back from storage: member `service` at start_s, ranked by the
// stored trace causes `traced` (service, explanation), best first.
Incident StoredOpen(uint64_t id, const std::string& service, int64_t start_s,
                    const std::vector<std::pair<std::string, std::string>>& traced) {
  Incident inc;
  inc.id = id;
  inc.members.push_back(M(service + "_latency", service, start_s));
  inc.start_ns = inc.last_activity_ns = inc.members[0].start_ns;
  for (const auto& [svc, text] : traced) {
    LiveCause c;
    c.service = svc;
    c.indicator = "trace latency";
    c.explanation = text;
    c.evidence = kCauseByTraceLatency;
    inc.causes.push_back(c);
  }
  return inc;
}

// Two restored open incidents merge (a member relates to both): the survivor ranks the stored
// trace causes of both, its own first, one per service; unless it has fresh evidence from enough
// traces, which the merged one's stored causes must not override.
TEST(IncidentTracker, MergedRestoredIncidentsKeepTheTraceCausesOfBoth) {
  const Incident a = StoredOpen(1, "cart", 0, {{"cart", "cart: A's cart"}, {"frontend", "A's fe"}});
  const Incident b =
      StoredOpen(2, "payment", 5, {{"payment", "B's payment"}, {"cart", "cart: B's cart"}});
  Member edge = M("edge_latency", "cart", 10);  // an edge series: relates to both ends
  edge.labels = {{"client", "cart"}, {"server", "payment"}};

  IncidentTracker r(Opts());
  r.Restore(StoredAndRead(a));
  r.Restore(StoredAndRead(b));
  ASSERT_EQ(r.Open(edge), 1u);  // the older one survives
  EXPECT_EQ(r.Get(2)->merged_into, 1u);
  EXPECT_TRUE(r.Get(2)->kept_trace_causes.empty());
  const Incident* inc = r.Get(1);
  ASSERT_EQ(inc->kept_trace_causes.size(), 3u);
  ASSERT_GE(inc->causes.size(), 3u);
  const char* want[][2] = {
      {"cart", "cart: A's cart"}, {"frontend", "A's fe"}, {"payment", "B's payment"}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(inc->causes[i].service, want[i][0]) << i;
    EXPECT_EQ(inc->causes[i].explanation, want[i][1]) << i;
    EXPECT_EQ(inc->causes[i].evidence, kCauseByTraceLatency) << i;
  }
  // Fresh evidence from enough traces (not significant) replaces them all.
  r.SetTraceEvidence(1, WithTraces(Evidence(0.5, "cart", "payment"), 40));
  EXPECT_TRUE(r.Get(1)->kept_trace_causes.empty());
  EXPECT_EQ(r.Get(1)->causes[0].evidence, kCauseByMembers);

  // The survivor already had fresh evidence from enough traces: the merged one's stored causes
  // do not come back over it.
  IncidentTracker f(Opts());
  f.Restore(StoredAndRead(a));
  f.Restore(StoredAndRead(b));
  f.SetTraceEvidence(1, WithTraces(Evidence(0.5, "cart", "payment"), 40));
  ASSERT_EQ(f.Open(edge), 1u);
  EXPECT_TRUE(f.Get(1)->kept_trace_causes.empty());
  ASSERT_FALSE(f.Get(1)->causes.empty());
  EXPECT_EQ(f.Get(1)->causes[0].evidence, kCauseByMembers);
}

// A resolved incident restored from storage never changes its causes.
TEST(IncidentTracker, RestoredResolvedIncidentKeepsItsCauses) {
  IncidentTracker t(Opts());
  t.SetGraph({{"frontend", "cart"}});
  const uint64_t id = t.Open(M("cart_latency", "cart", 0));
  t.Open(M("frontend_latency", "frontend", 5));
  t.SetTraceEvidence(id, WithTraces(Evidence(3, "frontend", "payment"), 40));
  t.Close("cart_latency", kT0 + 10 * kS);
  t.Close("frontend_latency", kT0 + 10 * kS);
  ASSERT_EQ(t.Advance(kT0 + 500 * kS), std::vector<uint64_t>{id});
  const nlohmann::json before = IncidentToJson(*t.Get(id));
  ASSERT_EQ(before["causes"][0]["evidence"], "trace_latency");

  IncidentTracker r(Opts());
  r.Restore(StoredAndRead(*t.Get(id)));
  r.SetGraph({{"cart", "frontend"}});
  r.SetTraceEvidence(id, WithTraces(Evidence(3, "cart", "payment"), 40));
  r.Open(M("frontend_again", "frontend", 600));  // a new incident, not this one
  EXPECT_EQ(IncidentToJson(*r.Get(id)), before);
}

}  // namespace
}  // namespace backsight::incidents
