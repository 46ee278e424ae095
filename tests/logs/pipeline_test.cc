#include "backsight/logs/pipeline.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace backsight::logs {
namespace {

constexpr int64_t kSec = kNanosPerSecond;

LogPipelineOptions WithHeader(const char* spec) {
  LogPipelineOptions o;
  EXPECT_TRUE(ParseHeaderSpec(spec, &o.layout).ok()) << spec;
  return o;
}

TEST(LogPipelineTest, LineInRecordOut) {
  LogPipeline p(WithHeader("<Timestamp> <Level> <Content>"));
  LogRecord r;
  ASSERT_TRUE(p.AddLine("1700000000 ERROR disk 3 full on /dev/sda", &r));
  EXPECT_EQ(r.line_no, 1u);
  EXPECT_EQ(r.record_no, 1u);
  EXPECT_TRUE(r.header_matched);
  ASSERT_EQ(r.fields.size(), 3u);
  EXPECT_EQ(r.fields[0], "1700000000");
  EXPECT_EQ(r.fields[1], "ERROR");
  EXPECT_EQ(r.content, "disk 3 full on /dev/sda");
  EXPECT_EQ(r.ts, 1700000000 * kSec);
  EXPECT_EQ(r.level_class, 2);
  EXPECT_TRUE(r.parse.created);
  const LogTemplate* t = p.Template(r.parse.template_id);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->text, "disk <*> full on <*>");
  const uint32_t id = r.parse.template_id;

  ASSERT_TRUE(p.AddLine("1700000001 INFO disk 4 full on /dev/sdb", &r));
  EXPECT_EQ(r.line_no, 2u);
  EXPECT_EQ(r.parse.template_id, id);
  EXPECT_FALSE(r.parse.created);
  EXPECT_EQ(r.level_class, 0);
  std::vector<std::string> params;
  ASSERT_TRUE(ExtractParameters(p.Template(id)->text, r.content, &params));
  EXPECT_EQ(params, (std::vector<std::string>{"4", "/dev/sdb"}));
  EXPECT_EQ(p.stats().lines, 2u);
  EXPECT_EQ(p.stats().records, 2u);
  EXPECT_EQ(p.miner().num_templates(), 1u);
}

TEST(LogPipelineTest, ContinuationLinesJoinTheirRecord) {
  LogPipeline p(WithHeader("<Timestamp> <Level> <Content>"));
  LogRecord r;
  ASSERT_TRUE(p.AddLine("1700000000 ERROR request failed", &r));
  EXPECT_TRUE(p.AddLine("java.lang.IllegalStateException: x", &r));
  r.line_no = 0;
  EXPECT_FALSE(p.AddLine("    at com.example.Foo.bar(Foo.java:10)", &r));
  EXPECT_FALSE(p.AddLine("\tat com.example.Foo.baz(Foo.java:11)", &r));
  EXPECT_FALSE(p.AddLine("Caused by: java.io.IOException: closed", &r));
  EXPECT_FALSE(p.AddLine("... 12 more", &r));
  EXPECT_EQ(r.line_no, 0u);  // untouched by continuation lines
  ASSERT_TRUE(p.AddLine("1700000001 INFO request served", &r));
  EXPECT_EQ(r.line_no, 7u);
  EXPECT_EQ(r.record_no, 3u);
  EXPECT_EQ(p.stats().continuations, 4u);
  EXPECT_EQ(p.stats().unmatched, 1u);  // the exception line has no header

  // Without multiline joining every line is a record.
  LogPipelineOptions o = WithHeader("<Timestamp> <Level> <Content>");
  o.multiline = MultilineMode::kNone;
  LogPipeline q(o);
  ASSERT_TRUE(q.AddLine("1700000000 ERROR request failed", &r));
  ASSERT_TRUE(q.AddLine("    at com.example.Foo.bar(Foo.java:10)", &r));
  EXPECT_EQ(q.stats().continuations, 0u);
  EXPECT_EQ(q.stats().records, 2u);
}

TEST(LogPipelineTest, FirstLineIsNeverAContinuation) {
  LogPipeline p;
  LogRecord r;
  ASSERT_TRUE(p.AddLine("  indented first line", &r));
  EXPECT_EQ(p.stats().records, 1u);
}

TEST(LogPipelineTest, UnmatchedLinesAreKeptAndCounted) {
  LogPipeline p(WithHeader("<Timestamp> <Level> <Content>"));
  LogRecord r;
  ASSERT_TRUE(p.AddLine("no-header-here", &r));
  EXPECT_FALSE(r.header_matched);
  EXPECT_EQ(r.content, "no-header-here");
  ASSERT_EQ(r.fields.size(), 3u);
  EXPECT_EQ(r.fields[0], "");
  EXPECT_EQ(r.fields[1], "");
  EXPECT_EQ(r.fields[2], "no-header-here");
  EXPECT_EQ(r.level_class, 0);
  EXPECT_NE(r.parse.template_id, 0u);
  // Before any timestamp, record N is at N seconds.
  EXPECT_EQ(r.ts, 1 * kSec);
  ASSERT_TRUE(p.AddLine("1700000000 WARN low memory", &r));
  EXPECT_EQ(r.ts, 1700000000 * kSec);
  // Once a timestamp was seen, a line without one keeps the latest time.
  ASSERT_TRUE(p.AddLine("still-no-header", &r));
  EXPECT_EQ(r.ts, 1700000000 * kSec);
  EXPECT_EQ(p.stats().unmatched, 2u);
  EXPECT_TRUE(p.have_time());
}

TEST(LogPipelineTest, EntriesAreRecordsWithTheirOwnTimeAndLevel) {
  LogPipeline p;
  LogRecord r;
  p.AddEntry({1700000000 * kSec, "user bob logged in", "error"}, &r);
  EXPECT_EQ(r.ts, 1700000000 * kSec);
  EXPECT_EQ(r.level_class, 2);
  EXPECT_EQ(r.content, "user bob logged in");
  EXPECT_TRUE(r.fields.empty());
  EXPECT_TRUE(r.parse.created);
  EXPECT_EQ(p.stats().records, 1u);
}

// One line per second of one template for 10 hours, starting 3 s into a minute, so the last
// one-minute bucket is cut by the end of input; then `tail` lines in that last bucket's first
// seconds (all at the same second). Returns the rate events of Finish().
std::vector<TemplateRateEvent> SteadyThenTail(int tail) {
  LogPipeline p(WithHeader("<Timestamp> <Content>"));
  LogRecord r;
  constexpr int64_t kStart = 1'699'999'983;  // 3 s past a minute boundary
  constexpr int kSeconds = 10 * 3600;
  for (int i = 0; i < kSeconds; ++i) {
    p.AddLine(std::to_string(kStart + i) + " heartbeat ok", &r);
  }
  const int64_t last = kStart + kSeconds - 1;
  for (int i = 0; i < tail; ++i) p.AddLine(std::to_string(last) + " heartbeat ok", &r);
  std::span<const TemplateRateEvent> ev = p.Finish();
  return {ev.begin(), ev.end()};
}

TEST(LogPipelineTest, FinishScoresTheLastBucketAsPartial) {
  // The steady log ends 3 s into its last minute: a low count, but no collapse is reported.
  EXPECT_TRUE(SteadyThenTail(0).empty());
  // A surge already above a whole bucket's count in that partial bucket is reported.
  std::vector<TemplateRateEvent> ev = SteadyThenTail(300);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].count, 303u);
  EXPECT_GT(ev[0].anomaly_score, 1.0);
}

// A word per kind (masked numbers would merge "kind12" and "kind13" into one template).
std::string KindWord(int k) {
  return std::string("op") + static_cast<char>('a' + k % 26) + static_cast<char>('a' + k / 26);
}

// A log with 40 kinds of lines (each names its kind twice, so that kinds differ in more than a
// leading word, which 40 kinds would make a variable; errors among them), refinements, unmatched
// and continuation lines and one-off lines (evictions), 7 lines per second over many 1 s buckets,
// ending with a burst of 40 lines of each of 10 kinds in the last second (rate events from
// Finish()).
std::vector<std::string> MixedLog(int n) {
  std::vector<std::string> lines;
  uint64_t x = 12345;
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;  // Knuth's MMIX LCG
    const int k = static_cast<int>((x >> 33) % 97);
    const int64_t t = 1'700'000'000 + i / 7;
    std::string line = std::to_string(t) + (k % 11 == 0 ? " ERROR " : " INFO ");
    if (k == 9) {
      line += KindWord(i % 26 + 26) + KindWord(i / 26 % 26) + " once";  // a one-off template
    } else {
      line +=
          KindWord(k % 40) + " done in " + std::to_string(x % 1000) + " ms by " + KindWord(k % 40);
    }
    if (k == 5 && i > n / 2) line += " extra word" + std::to_string(i % 3);
    lines.push_back(line);
    if (k == 7) lines.push_back("    at frame " + std::to_string(i));
    if (k == 8) lines.push_back("garbage " + std::to_string(i % 5));
  }
  const int64_t end = 1'700'000'000 + n / 7;
  for (int k = 0; k < 10; ++k) {
    for (int j = 0; j < 40; ++j) {
      lines.push_back(std::to_string(end) + " INFO " + KindWord(k) + " done in 1 ms by " +
                      KindWord(k));
    }
  }
  return lines;
}

bool SameScores(const LineScores& a, const LineScores& b) {
  return std::memcmp(&a.new_score, &b.new_score, sizeof(double)) == 0 &&
         std::memcmp(&a.rare_score, &b.rare_score, sizeof(double)) == 0 &&
         std::memcmp(&a.rate_score, &b.rate_score, sizeof(double)) == 0 &&
         std::memcmp(&a.level_score, &b.level_score, sizeof(double)) == 0 &&
         std::strcmp(a.reason, b.reason) == 0 && a.is_anomaly == b.is_anomaly;
}

bool SameEvents(std::span<const TemplateRateEvent> a, std::span<const TemplateRateEvent> b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].template_id != b[i].template_id || a[i].bucket_start_ns != b[i].bucket_start_ns ||
        a[i].count != b[i].count ||
        std::memcmp(&a[i].anomaly_score, &b[i].anomaly_score, sizeof(double)) != 0) {
      return false;
    }
  }
  return true;
}

TEST(LogPipelineTest, RestoredStateContinuesIdentically) {
  const std::vector<std::string> lines = MixedLog(100000);
  LogPipelineOptions o = WithHeader("<Timestamp> <Level> <Content>");
  o.anomaly.bucket_ns = kSec;
  o.miner.max_templates = 60;  // the one-off templates are evicted
  for (size_t cut : {lines.size() / 3, lines.size() - 10}) {
    LogPipeline a(o);
    LogRecord ra, rb;
    for (size_t i = 0; i < cut; ++i) a.AddLine(lines[i], &ra);
    std::string state;
    a.SaveState(&state);
    LogPipeline b(o);
    ASSERT_TRUE(b.RestoreState(state).ok());
    std::string again;
    b.SaveState(&again);
    EXPECT_EQ(again, state);
    for (size_t i = cut; i < lines.size(); ++i) {
      const bool ka = a.AddLine(lines[i], &ra), kb = b.AddLine(lines[i], &rb);
      ASSERT_EQ(ka, kb) << i;
      if (!ka) continue;
      ASSERT_EQ(ra.line_no, rb.line_no) << i;
      ASSERT_EQ(ra.parse.template_id, rb.parse.template_id) << i;
      ASSERT_EQ(ra.parse.refined, rb.parse.refined) << i;
      ASSERT_EQ(ra.parse.evicted_id, rb.parse.evicted_id) << i;
      ASSERT_TRUE(SameScores(ra.scores, rb.scores)) << i;
      ASSERT_TRUE(SameEvents(ra.rate_events, rb.rate_events)) << i;
    }
    std::span<const TemplateRateEvent> fa = a.Finish(), fb = b.Finish();
    EXPECT_GE(fa.size(), 5u);  // several, so their order matters
    EXPECT_GT(a.miner().stats().evictions, 0u);
    EXPECT_GT(a.miner().stats().refinements, 0u);
    EXPECT_TRUE(SameEvents(fa, fb));
    EXPECT_TRUE(SameEvents(a.scorer().rate_events(), b.scorer().rate_events()));
    EXPECT_EQ(a.stats().anomalous, b.stats().anomalous);
    EXPECT_GT(a.stats().anomalous, 0u);
    std::string sa, sb;
    a.SaveState(&sa);
    b.SaveState(&sb);
    EXPECT_EQ(sa, sb);
  }
}

TEST(LogPipelineTest, DamagedStateIsRefusedAndLeavesThePipelineUnchanged) {
  LogPipeline a(WithHeader("<Timestamp> <Level> <Content>"));
  LogRecord r;
  for (const std::string& l : MixedLog(2000)) a.AddLine(l, &r);
  std::string state;
  a.SaveState(&state);
  LogPipeline b;
  b.AddLine("hello 1", &r);
  std::string before;
  b.SaveState(&before);
  for (size_t n : {size_t{0}, size_t{3}, size_t{30}, state.size() / 2, state.size() - 1}) {
    Status st = b.RestoreState(std::string_view(state).substr(0, n));
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << n;
  }
  std::string trailing = state + "x";
  EXPECT_EQ(b.RestoreState(trailing).code(), Status::Code::kCorruption);
  std::string after;
  b.SaveState(&after);
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace backsight::logs
