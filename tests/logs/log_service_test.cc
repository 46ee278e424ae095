#include "backsight/logs/log_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace backsight::logs {
namespace {

constexpr int64_t kSec = kNanosPerSecond;

// Feeds `n` lines of a few templates at one line per second from `t0`.
void FeedNormal(LogService* svc, const std::string& service, int n, TimestampNs t0,
                LogAddResult* res) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back(
        i % 2 ? "GET /api/items/" + std::to_string(i) + " 200 in " + std::to_string(i % 7) + " ms"
              : "user " + std::to_string(i) + " logged in from 10.0.0." + std::to_string(i % 200));
  }
  std::vector<LogEntry> entries;
  for (int i = 0; i < n; ++i) entries.push_back({t0 + i * kSec, lines[i], "info"});
  ASSERT_TRUE(svc->Add(service, entries, res).ok());
}

TEST(LogService, ServicesHaveTheirOwnTemplateSets) {
  LogService svc;
  LogEntry a{1 * kSec, "connection reset by peer 10.1.2.3", ""};
  LogEntry b{1 * kSec, "cache miss for key 42", ""};
  ASSERT_TRUE(svc.Add("api", {&a, 1}, nullptr).ok());
  ASSERT_TRUE(svc.Add("db", {&b, 1}, nullptr).ok());
  std::vector<LogTemplateInfo> t;
  ASSERT_TRUE(svc.Templates("api", 10, &t).ok());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].id, 1u);
  EXPECT_EQ(t[0].text, "connection reset by peer <*>");
  EXPECT_EQ(t[0].example, "connection reset by peer 10.1.2.3");
  EXPECT_EQ(t[0].first_seen_ns, 1 * kSec);
  ASSERT_TRUE(svc.Templates("db", 10, &t).ok());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].id, 1u);  // its own id space
  EXPECT_EQ(svc.Templates("nope", 10, &t).code(), Status::Code::kNotFound);
  EXPECT_EQ(svc.stats().services, 2u);
  EXPECT_EQ(svc.stats().templates, 2u);
}

TEST(LogService, ClosedBucketsGiveTemplateCounts) {
  LogService svc;  // 60 s buckets
  LogAddResult res;
  FeedNormal(&svc, "api", 130, 0, &res);  // seconds 0..129: buckets 0 and 60 close
  uint64_t total = 0;
  for (const TemplateCount& c : res.counts) {
    EXPECT_TRUE(c.bucket_start_ns == 0 || c.bucket_start_ns == 60 * kSec);
    total += c.count;
  }
  EXPECT_EQ(total, 120u);
  EXPECT_EQ(res.counts.size(), 4u);  // two templates x two buckets
}

TEST(LogService, NewTemplateAfterWarmupIsAnEventWithExamples) {
  LogService svc;
  LogAddResult res;
  FeedNormal(&svc, "api", 800, 0, &res);
  EXPECT_TRUE(res.opened.empty());
  std::vector<LogEntry> bad;
  std::vector<std::string> text;
  for (int i = 0; i < 3; ++i)
    text.push_back("FATAL disk /dev/sd" + std::string(1, 'a' + i) + " failed");
  for (int i = 0; i < 3; ++i) bad.push_back({(800 + i) * kSec, text[i], ""});
  LogAddResult res2;
  ASSERT_TRUE(svc.Add("api", bad, &res2).ok());
  ASSERT_FALSE(res2.opened.empty());
  EXPECT_EQ(res2.opened[0].kind, "new_template");
  EXPECT_EQ(res2.opened[0].service, "api");
  EXPECT_EQ(res2.opened[0].template_text, "FATAL disk <*> failed");
  std::vector<LogAnomalyEvent> ev = svc.RecentEvents(10);
  ASSERT_FALSE(ev.empty());
  const LogAnomalyEvent* e = nullptr;
  for (const auto& x : ev) {
    if (x.kind == "new_template") e = &x;
  }
  ASSERT_NE(e, nullptr);
  EXPECT_GT(e->score, 1.0);
  EXPECT_EQ(e->lines, 3u);  // the three lines joined one event
  ASSERT_EQ(e->examples.size(), 3u);
  EXPECT_EQ(e->examples[1], "FATAL disk /dev/sdb failed");
}

TEST(LogService, RestoredStateKeepsTemplateIds) {
  LogService a;
  FeedNormal(&a, "api", 50, 0, nullptr);
  LogEntry x{100 * kSec, "worker 7 restarted after 3 failures", ""};
  ASSERT_TRUE(a.Add("api", {&x, 1}, nullptr).ok());
  std::vector<LogTemplateInfo> ta;
  ASSERT_TRUE(a.Templates("api", 100, &ta).ok());
  std::string state;
  a.SaveState(&state);

  LogService b;
  ASSERT_TRUE(b.RestoreState(state).ok());
  std::vector<LogTemplateInfo> tb;
  ASSERT_TRUE(b.Templates("api", 100, &tb).ok());
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].id, tb[i].id);
    EXPECT_EQ(ta[i].text, tb[i].text);
    EXPECT_EQ(ta[i].count, tb[i].count);
  }
  // The same new line mines to the same next id in both.
  LogEntry y{101 * kSec, "shard 9 rebalanced", ""};
  LogEntry x2{102 * kSec, "worker 8 restarted after 1 failures", ""};
  ASSERT_TRUE(a.Add("api", {&y, 1}, nullptr).ok());
  ASSERT_TRUE(b.Add("api", {&y, 1}, nullptr).ok());
  ASSERT_TRUE(a.Add("api", {&x2, 1}, nullptr).ok());
  ASSERT_TRUE(b.Add("api", {&x2, 1}, nullptr).ok());
  ASSERT_TRUE(a.Templates("api", 100, &ta).ok());
  ASSERT_TRUE(b.Templates("api", 100, &tb).ok());
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(ta[i].id, tb[i].id);

  std::string bad = state;
  bad.resize(bad.size() - 3);
  LogService c;
  EXPECT_EQ(c.RestoreState(bad).code(), Status::Code::kCorruption);
}

TEST(LogService, ServicesPastTheCapAreRefusedAndCounted) {
  LogServiceOptions o;
  o.max_services = 2;
  LogService svc(o);
  LogEntry e{kSec, "hello", ""};
  ASSERT_TRUE(svc.Add("a", {&e, 1}, nullptr).ok());
  ASSERT_TRUE(svc.Add("b", {&e, 1}, nullptr).ok());
  Status st = svc.Add("c", {&e, 1}, nullptr);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(svc.Add("a", {&e, 1}, nullptr).ok());
  EXPECT_EQ(svc.stats().services_refused, 1u);
  EXPECT_EQ(svc.stats().lines_refused, 1u);
  uint64_t bytes = 0, templates = 0;
  svc.MemoryEstimate(&bytes, &templates);
  EXPECT_EQ(templates, 2u);
  EXPECT_GT(bytes, 0u);
}

// Letters-only word for n (the masker keeps it a constant): 0 -> "a", 26 -> "ba", ...
std::string Word(int n) {
  std::string w;
  do {
    w.insert(w.begin(), static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n > 0);
  return w;
}

TEST(LogService, ConcurrentBatchesAreMinedInTheOrderBeforeSawThem) {
  LogService svc;
  std::mutex mu;
  std::vector<int> order;  // batch numbers in the order `before` ran
  std::atomic<int> ready{0};
  auto run = [&](int first) {
    ++ready;
    while (ready.load() < 2) std::this_thread::yield();  // start together
    for (int b = first; b < first + 400; ++b) {
      const std::string line = "zz" + Word(b) + " happened";
      const LogEntry e{kSec, line, ""};
      const LogService::ServiceEntries items[] = {{"x", {&e, 1}}, {"y", {&e, 1}}};
      ASSERT_TRUE(svc.AddBatch(
                         items,
                         [&] {
                           std::lock_guard lock(mu);
                           order.push_back(b);
                           return Status::OK();
                         },
                         nullptr)
                      .ok());
    }
  };
  std::thread t1(run, 0), t2(run, 100000);
  t1.join();
  t2.join();
  ASSERT_EQ(order.size(), 800u);
  for (const char* service : {"x", "y"}) {
    std::vector<LogTemplateInfo> t;
    ASSERT_TRUE(svc.Templates(service, 1000, &t).ok());
    ASSERT_EQ(t.size(), 800u) << service;
    std::sort(t.begin(), t.end(),
              [](const LogTemplateInfo& a, const LogTemplateInfo& b) { return a.id < b.id; });
    for (size_t i = 0; i < t.size(); ++i) {
      ASSERT_EQ(t[i].text, "zz" + Word(order[i]) + " happened") << service << " #" << i;
    }
  }
}

}  // namespace
}  // namespace backsight::logs
