// FindingLedger: once-only marks, findings kept across judgements, the capacity bound with its
// drop count, and the saved state round trip (what `serve` restores after a restart).
#include "backsight/security/finding_ledger.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace backsight::security {
namespace {

Finding Make(const std::string& ip, Kind kind, double score = 2.0) {
  Finding f;
  f.source_ip = ip;
  f.start_s = 1764637200;
  f.end_s = 1764637240;
  f.kind = kind;
  f.score = score;
  f.evidence = "40 failed logins; e.g. " + ip;
  return f;
}

TEST(SecurityFindingLedger, MarksOnceAndKeepsFindingsNoLongerJudged) {
  FindingLedger l;
  const Finding a = Make("203.0.113.66", Kind::kBruteForce);
  EXPECT_TRUE(l.MarkSent(a));
  EXPECT_FALSE(l.MarkSent(a));
  EXPECT_TRUE(l.MarkForwarded(a));                                // a separate set
  EXPECT_TRUE(l.MarkSent(Make("203.0.113.66", Kind::kScanner)));  // same address, other kind
  ASSERT_EQ(l.Merge({a}).size(), 1u);
  // Judged no more (its lines are gone): still listed, after the live ones.
  const Finding b = Make("192.0.2.7", Kind::kScanner, 3.5);
  const std::vector<Finding> m = l.Merge({b});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].source_ip, "192.0.2.7");
  EXPECT_EQ(m[1].source_ip, "203.0.113.66");
  // A live finding replaces the kept one of its key.
  const std::vector<Finding> m2 = l.Merge({Make("192.0.2.7", Kind::kScanner, 9.0)});
  ASSERT_EQ(m2.size(), 2u);
  EXPECT_EQ(m2[0].score, 9.0);
  EXPECT_EQ(l.dropped(), 0u);
}

TEST(SecurityFindingLedger, BoundedOldestDroppedAndCounted) {
  FindingLedger l(3);
  for (int i = 0; i < 5; ++i) {
    const Finding f = Make("10.0.0." + std::to_string(i), Kind::kBruteForce);
    EXPECT_TRUE(l.MarkSent(f));
    l.Merge({f});
  }
  EXPECT_EQ(l.findings(), 3u);
  EXPECT_EQ(l.dropped(), 4u);  // 2 sent keys + 2 findings
  // The oldest were dropped (and may be sent again), the newest are still marked.
  EXPECT_TRUE(l.MarkSent(Make("10.0.0.0", Kind::kBruteForce)));
  EXPECT_FALSE(l.MarkSent(Make("10.0.0.4", Kind::kBruteForce)));
  const std::vector<Finding> m = l.Merge({});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].source_ip, "10.0.0.2");
}

TEST(SecurityFindingLedger, StateRoundTrip) {
  FindingLedger l;
  const Finding a = Make("203.0.113.66", Kind::kBruteForce, 4.25);
  l.MarkSent(a);
  l.MarkForwarded(Make("192.0.2.7", Kind::kInjectionProbe));
  l.Merge({a, Make("192.0.2.7", Kind::kInjectionProbe)});
  EXPECT_TRUE(l.changed());
  std::string data;
  l.Encode(&data);
  EXPECT_FALSE(l.changed());

  FindingLedger r;
  ASSERT_TRUE(r.Decode(data).ok());
  EXPECT_FALSE(r.MarkSent(a));
  EXPECT_TRUE(r.MarkSent(Make("192.0.2.7", Kind::kInjectionProbe)));
  EXPECT_FALSE(r.MarkForwarded(Make("192.0.2.7", Kind::kInjectionProbe)));
  EXPECT_TRUE(r.MarkForwarded(a));
  const std::vector<Finding> m = r.Merge({});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].source_ip, "203.0.113.66");
  EXPECT_EQ(m[0].kind, Kind::kBruteForce);
  EXPECT_EQ(m[0].score, 4.25);
  EXPECT_EQ(m[0].start_s, a.start_s);
  EXPECT_EQ(m[0].end_s, a.end_s);
  EXPECT_EQ(m[0].evidence, a.evidence);
  EXPECT_EQ(m[1].kind, Kind::kInjectionProbe);

  // A damaged state is refused and leaves the ledger as it was.
  EXPECT_FALSE(r.Decode(data.substr(0, data.size() - 3)).ok());
  std::string bad = data;
  bad[0] = 'X';
  EXPECT_FALSE(r.Decode(bad).ok());
  EXPECT_EQ(r.Merge({}).size(), 2u);
}

TEST(SecurityFindingLedger, FindingsExpireAfterRetentionInLogTime) {
  const int64_t kRetention = 3600;
  FindingLedger l(16, kRetention);
  const Finding old = Make("203.0.113.66", Kind::kBruteForce);  // ended at end_s
  const Finding other = Make("192.0.2.7", Kind::kScanner);
  ASSERT_TRUE(l.MarkSent(old));
  ASSERT_TRUE(l.MarkForwarded(old));
  ASSERT_TRUE(l.MarkSent(other));
  ASSERT_EQ(l.Merge({old, other}, old.end_s).size(), 2u);
  std::string before;
  l.Encode(&before);

  // No clock (0, as after a restart before any line) and exactly at the retention: all kept.
  EXPECT_EQ(l.Merge({}, 0).size(), 2u);
  EXPECT_EQ(l.Merge({}, old.end_s + kRetention).size(), 2u);
  EXPECT_FALSE(l.changed());

  // `other` is judged again with new evidence; `old` is kept only: one second later it expires.
  Finding again = other;
  again.end_s = old.end_s + kRetention;
  const std::vector<Finding> m = l.Merge({again}, old.end_s + kRetention + 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].source_ip, "192.0.2.7");
  EXPECT_EQ(l.findings(), 1u);
  EXPECT_EQ(l.expired(), 1u);
  EXPECT_TRUE(l.changed());
  // Its keys went with it: the address coming back is a new finding; the other stays marked.
  EXPECT_TRUE(l.MarkSent(old));
  EXPECT_TRUE(l.MarkForwarded(old));
  EXPECT_FALSE(l.MarkSent(other));

  // The clock does not go back, and a live finding whose evidence is that old is not served.
  EXPECT_EQ(l.Merge({old}, 0).size(), 1u);
  EXPECT_EQ(l.findings(), 1u);

  // The saved state no longer holds it (and reading a state written before keeps v1).
  std::string after;
  l.Encode(&after);
  FindingLedger r;
  ASSERT_TRUE(r.Decode(after).ok());
  ASSERT_EQ(r.Merge({}).size(), 1u);
  ASSERT_TRUE(r.Decode(before).ok());
  EXPECT_EQ(r.Merge({}).size(), 2u);
}

}  // namespace
}  // namespace backsight::security
