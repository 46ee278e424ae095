#include "backsight/logs/miner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace backsight::logs {
namespace {

TEST(MinerTest, NumbersAreMaskedWithoutRefinement) {
  TemplateMiner m;
  ParseResult a = m.Add("took 12 ms to flush /var/lib/x");
  ParseResult b = m.Add("took 345 ms to flush /tmp/y");
  EXPECT_TRUE(a.created);
  EXPECT_FALSE(b.created);
  EXPECT_FALSE(b.refined);
  EXPECT_EQ(a.template_id, b.template_id);
  EXPECT_EQ(m.Find(a.template_id)->text, "took <*> ms to flush <*>");
  EXPECT_EQ(m.Find(a.template_id)->count, 2u);
}

TEST(MinerTest, RefinementKeepsIdAndIsReported) {
  TemplateMiner m;
  ParseResult a = m.Add("login of user alice from host");
  EXPECT_EQ(m.Find(a.template_id)->text, "login of user alice from host");
  ParseResult b = m.Add("login of user bob from host");
  EXPECT_EQ(b.template_id, a.template_id);
  EXPECT_TRUE(b.refined);
  EXPECT_EQ(m.Find(a.template_id)->text, "login of user <*> from host");
  ParseResult c = m.Add("login of user carol from host");
  EXPECT_EQ(c.template_id, a.template_id);
  EXPECT_FALSE(c.refined);
  EXPECT_EQ(m.stats().refinements, 1u);
  EXPECT_EQ(m.Find(a.template_id)->refinements, 1u);
}

TEST(MinerTest, CharacterLevelMerge) {
  TemplateMiner m;
  uint32_t id = m.Add("auth failure; ruser= rhost=a.example.com user=x").template_id;
  EXPECT_EQ(m.Add("auth failure; ruser= rhost=b.example.org user=x").template_id, id);
  EXPECT_EQ(m.Find(id)->text, "auth failure; ruser= rhost=<*> user=x");
  EXPECT_EQ(MergeTokens("rhost=a.com", "rhost=<*>"), "rhost=<*>");
  EXPECT_EQ(MergeTokens("[preauth]", "user"), "<*>");
  EXPECT_EQ(MergeTokens("abc,", "<*>,"), "<*>,");
  // A common prefix is kept only up to a delimiter, a common suffix only from one.
  EXPECT_EQ(MergeTokens("job_abc,", "job_abd,"), "<*>,");
  EXPECT_EQ(MergeTokens("(xfoo)", "(yfoo)"), "(<*>)");
  EXPECT_TRUE(TokenMatches("rhost=<*>", "rhost=x.y"));
  EXPECT_TRUE(TokenMatches("<*>:<*>", "a:b"));
  EXPECT_FALSE(TokenMatches("rhost=<*>", "ruser=x"));
}

TEST(MinerTest, DifferentWordsDoNotMergeAfterLock) {
  TemplateMiner m;
  uint32_t id = 0;
  for (int i = 0; i < 30; ++i) {
    id = m.Add("Session: " + std::to_string(1000 + i) + " initialized by client WindowsUpdate.")
             .template_id;
  }
  ParseResult r = m.Add("Session: 77 initialized by client SPP.");
  EXPECT_NE(r.template_id, id);
  EXPECT_TRUE(r.created);
}

// Lines a long-running service writes for 10,000 lines before a slowly changing field (a day or
// month name, a date, a version) takes its next value: the template must not fork at that moment.
constexpr int kSteadyLines = 10000;

// Feeds kSteadyLines lines made by `line(i)` and returns their one template id.
template <typename F>
uint32_t FeedSteady(TemplateMiner* m, F line) {
  uint32_t id = m->Add(line(0)).template_id;
  for (int i = 1; i < kSteadyLines; ++i) {
    EXPECT_EQ(m->Add(line(i)).template_id, id) << line(i);
  }
  return id;
}

TEST(MinerTest, SlowDayAndMonthChangeRefinesTheLockedTemplate) {
  TemplateMiner m;
  const uint32_t id = FeedSteady(
      &m, [](int i) { return "Jobs done on Mon Dec 01 2025 for user " + std::to_string(i); });
  EXPECT_EQ(m.Find(id)->text, "Jobs done on Mon Dec <*> <*> for user <*>");
  ParseResult day = m.Add("Jobs done on Tue Dec 02 2025 for user 7");
  EXPECT_EQ(day.template_id, id);
  EXPECT_FALSE(day.created);
  EXPECT_TRUE(day.refined);
  EXPECT_EQ(m.Find(id)->text, "Jobs done on <*> Dec <*> <*> for user <*>");
  ParseResult month = m.Add("Jobs done on Thu Jan 01 2026 for user 3");
  EXPECT_EQ(month.template_id, id);
  EXPECT_TRUE(month.refined);
  EXPECT_EQ(m.Find(id)->text, "Jobs done on <*> <*> <*> <*> for user <*>");
  EXPECT_EQ(m.num_templates(), 1u);
}

TEST(MinerTest, DateWordsInTheLeadingTokensDoNotFork) {
  TemplateMiner m;
  const uint32_t id = FeedSteady(&m, [](int i) {
    return "Sun Jul 03 rotation finished, " + std::to_string(i) + " files kept";
  });
  ParseResult r = m.Add("Mon Jul 04 rotation finished, 12 files kept");
  EXPECT_EQ(r.template_id, id);
  EXPECT_EQ(m.Find(id)->text, "<*> Jul <*> rotation finished, <*> files kept");
}

TEST(MinerTest, VersionChangeRefinesTheLockedTemplate) {
  TemplateMiner m;
  const uint32_t id = FeedSteady(
      &m, [](int i) { return "agent v1.9.7 started on node " + std::to_string(i % 50); });
  ParseResult minor = m.Add("agent v1.9.8 started on node 3");  // masks like v1.9.7
  EXPECT_EQ(minor.template_id, id);
  ParseResult major = m.Add("agent v2.0.0 started on node 3");
  EXPECT_EQ(major.template_id, id);
  EXPECT_TRUE(major.refined);
  EXPECT_EQ(m.Find(id)->text, "agent <*> started on node <*>");
  // Short lines too: the version is the only token that changes.
  TemplateMiner s;
  const uint32_t sid = FeedSteady(&s, [](int) { return std::string("agent v1.2.3 started"); });
  EXPECT_EQ(s.Add("agent v2.0.1 started").template_id, sid);
  EXPECT_EQ(s.Find(sid)->text, "agent <*> started");
}

TEST(MinerTest, KeyedValueChangeRefinesTheLockedTemplate) {
  TemplateMiner m;
  const uint32_t id = FeedSteady(&m, [](int i) {
    return "retry " + std::to_string(i) + " of upload mode=fast queue=default";
  });
  EXPECT_EQ(m.Add("retry 4 of upload mode=fast queue=batch").template_id, id);
  EXPECT_EQ(m.Find(id)->text, "retry <*> of upload mode=fast queue=<*>");
}

TEST(MinerTest, DifferentKeywordsStayApartAfterLongRuns) {
  TemplateMiner m;
  const uint32_t opened = FeedSteady(&m, [](int i) {
    return "pam_unix(sshd:session): session opened for user u" + std::to_string(100 + i);
  });
  ParseResult closed = m.Add("pam_unix(sshd:session): session closed for user u123");
  EXPECT_NE(closed.template_id, opened);
  EXPECT_TRUE(closed.created);
  EXPECT_EQ(m.Find(opened)->text, "pam_unix(sshd:session): session opened for user <*>");

  TemplateMiner v;
  const uint32_t get = FeedSteady(&v, [](int i) {
    return "client " + std::to_string(i) + " sent request GET for resource /a/" +
           std::to_string(i) + " status 200";
  });
  ParseResult post = v.Add("client 9 sent request POST for resource /a/9 status 200");
  EXPECT_NE(post.template_id, get);
  EXPECT_TRUE(post.created);
}

// Values written in letters (user, host, program names) that first vary only after the template
// is locked (> lock_after lines with one value). `line(word, i)` makes the i-th line with `word`.
// The first other word is refused (it may be another event: `opened` / `closed`); the second
// other word at the same place opens the position, and later lines of the refused word join too.
template <typename F>
void ExpectLetterValueOpensLock(F line, const std::string& first, const std::string& refused,
                                const std::vector<std::string>& later,
                                const std::string& expected_text) {
  SCOPED_TRACE(expected_text);
  TemplateMiner m;
  const uint32_t id = m.Add(line(first, 0)).template_id;
  for (int i = 1; i < 30; ++i) ASSERT_EQ(m.Add(line(first, i)).template_id, id) << line(first, i);
  const ParseResult fork = m.Add(line(refused, 30));
  EXPECT_NE(fork.template_id, id);
  EXPECT_TRUE(fork.created);
  for (size_t k = 0; k < later.size(); ++k) {
    const ParseResult r = m.Add(line(later[k], 31 + static_cast<int>(k)));
    EXPECT_EQ(r.template_id, id) << line(later[k], 31);
    EXPECT_FALSE(r.created);
  }
  EXPECT_EQ(m.Find(id)->text, expected_text);
  // The template the refused word started is retired with the same text (so grouping lines by
  // text puts them together), and its later lines (even one already seen, masked alike) join.
  EXPECT_EQ(m.Find(fork.template_id)->text, expected_text);
  EXPECT_EQ(m.Add(line(refused, 30)).template_id, id);
  EXPECT_EQ(m.Add(line(refused, 99)).template_id, id);
  EXPECT_EQ(m.Add(line(first, 100)).template_id, id);
}

TEST(MinerTest, LockOpensForSshUserNames) {
  ExpectLetterValueOpensLock(
      [](const std::string& user, int i) {
        return "Accepted publickey for " + user + " from 10.0.3." + std::to_string(i % 200) +
               " port " + std::to_string(40000 + i) + " ssh2";
      },
      "deploy", "alice", {"bob", "carol", "git"},
      "Accepted publickey for <*> from <*> port <*> ssh2");
}

TEST(MinerTest, LockOpensForCronSessionUsers) {
  ExpectLetterValueOpensLock(
      [](const std::string& user, int) {
        return "pam_unix(cron:session): session opened for user " + user + " by (uid=0)";
      },
      "backup", "www", {"postgres", "nobody"},
      "pam_unix(cron:session): session opened for user <*> by (uid=<*>)");
}

TEST(MinerTest, LockOpensForHostNamesWithoutDigits) {
  ExpectLetterValueOpensLock(
      [](const std::string& host, int i) {
        return "upstream timed out after " + std::to_string(1000 + i) +
               " ms while connecting to upstream " + host + " for request GET";
      },
      "api.internal", "auth.internal", {"billing.internal", "search.example.com"},
      "upstream timed out after <*> ms while connecting to upstream <*> for request GET");
}

TEST(MinerTest, LockOpensForKernelProgramNames) {
  ExpectLetterValueOpensLock(
      [](const std::string& prog, int i) {
        return "Out of memory: Killed process " + std::to_string(3000 + i) + " (" + prog +
               ") total-vm:" + std::to_string(100000 + i) +
               "kB, anon-rss:" + std::to_string(5000 + i) + "kB";
      },
      "java", "postgres", {"chrome", "python"},
      "Out of memory: Killed process <*> (<*>) total-vm:<*>, anon-rss:<*>");
}

TEST(MinerTest, LockOpensForSyslogProgramNames) {
  ExpectLetterValueOpensLock(
      [](const std::string& prog, int i) {
        return "Reloaded configuration of " + prog + " service for session " + std::to_string(i);
      },
      "cron", "rsyslog", {"dbus", "udev"}, "Reloaded configuration of <*> service for session <*>");
}

// A lock that gives way at one position stays at the others: a line that also differs from the
// template in another locked word is still another event.
TEST(MinerTest, LockOpensOnlyWhereWordsVaried) {
  TemplateMiner m;
  auto line = [](const std::string& user, const std::string& verb) {
    return "session " + verb + " for user " + user + " on console";
  };
  const uint32_t id = m.Add(line("deploy", "opened")).template_id;
  for (int i = 0; i < 30; ++i) ASSERT_EQ(m.Add(line("deploy", "opened")).template_id, id);
  EXPECT_NE(m.Add(line("alice", "opened")).template_id, id);  // refused
  EXPECT_NE(m.Add(line("bob", "closed")).template_id, id);    // `closed` was never seen there
  EXPECT_EQ(m.Add(line("carol", "opened")).template_id, id);  // opens the user position
  EXPECT_EQ(m.Find(id)->text, "session opened for user <*> on console");
  EXPECT_NE(m.Add(line("dave", "closed")).template_id, id);
}

TEST(MinerTest, LockOpensAtZeroNeverGivesWay) {
  MinerOptions o;
  o.lock_opens_at = 0;
  TemplateMiner m(o);
  const uint32_t id = m.Add("session opened for user deploy on console").template_id;
  for (int i = 0; i < 30; ++i) m.Add("session opened for user deploy on console");
  for (const char* u : {"alice", "bob", "carol"}) {
    EXPECT_NE(m.Add(std::string("session opened for user ") + u + " on console").template_id, id);
  }
  EXPECT_EQ(m.Find(id)->text, "session opened for user deploy on console");
}

TEST(MinerTest, ValueChangeClassifiesTokens) {
  EXPECT_TRUE(IsValueChange("Mon", "Tue"));
  EXPECT_TRUE(IsValueChange("(Dec", "(January"));
  EXPECT_TRUE(IsValueChange("v1.<*>", "v2.<*>"));
  EXPECT_TRUE(IsValueChange("state=open", "state=closed"));
  // The common prefix "key=a" gives way to "key=": the value after the key changed.
  EXPECT_TRUE(IsValueChange("key=ab", "key=ac"));
  EXPECT_FALSE(IsValueChange("opened", "closed"));
  EXPECT_FALSE(IsValueChange("GET", "POST"));
  EXPECT_FALSE(IsValueChange("may", "can"));  // lower-case "may" is a verb
  EXPECT_FALSE(IsValueChange("Mon", "started"));
  EXPECT_FALSE(IsValueChange("uid=<*>", "gid=<*>"));
  EXPECT_FALSE(IsValueChange("<*>,", "<*>:"));
  EXPECT_FALSE(IsValueChange("v1", "v1"));
}

TEST(MinerTest, LeadingWordsMustMatch) {
  TemplateMiner m;
  uint32_t a = m.Add("Accepted password for u from 1.2.3.4 port 22 ssh2").template_id;
  uint32_t b = m.Add("Failed password for u from 1.2.3.4 port 22 ssh2").template_id;
  EXPECT_NE(a, b);
}

// Feeds `per_word` lines of each (word, event) pair, interleaved in a fixed pseudo-random order,
// and returns, per event, the texts (at the end) of the templates its lines were given.
std::map<std::string, std::set<std::string>> FinalTextsByEvent(
    TemplateMiner* m, const std::vector<std::string>& words, const std::vector<std::string>& events,
    const std::function<std::string(const std::string&, const std::string&, int)>& line,
    int per_word) {
  std::vector<std::pair<std::string, std::string>> order;
  for (const std::string& w : words) {
    for (const std::string& e : events) {
      for (int i = 0; i < per_word; ++i) order.emplace_back(w, e);
    }
  }
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::vector<std::pair<std::string, uint32_t>> ids;
  int i = 0;
  for (const auto& [w, e] : order) ids.emplace_back(e, m->Add(line(w, e, i++)).template_id);
  std::map<std::string, std::set<std::string>> texts;
  for (const auto& [e, id] : ids) texts[e].insert(m->Find(id)->text);
  return texts;
}

// A program name in the leading words (a proxy client's log) is a value once more different
// names than any family of event words have met the same rest of line: the early names' templates
// are retired into the refined one, and a new name starts no template.
TEST(MinerTest, PrefixOpensForProgramNamesInTheFirstToken) {
  const std::vector<std::string> programs = {
      "chrome.exe",   "firefox.exe", "svchost.exe", "Dropbox.exe", "Skype.exe", "outlook.exe",
      "iexplore.exe", "WINWORD.EXE", "putty.exe",   "Teams.exe",   "slack.exe", "git.exe"};
  auto line = [](const std::string& prog, const std::string& event, int i) {
    const std::string host = "mail.example.com:" + std::to_string(443 + i % 3);
    if (event == "open")
      return prog + " - " + host + " open through proxy proxy.example.com:5070 HTTPS";
    return prog + " - " + host + " close, " + std::to_string(100 + i) + " bytes sent, " +
           std::to_string(900 + i) + " bytes received, lifetime 00:0" + std::to_string(i % 10);
  };
  TemplateMiner m;
  const auto texts = FinalTextsByEvent(&m, programs, {"open", "close"}, line, 30);
  EXPECT_EQ(texts.at("open"), (std::set<std::string>{"<*> - mail.example.com:<*> open through "
                                                     "proxy proxy.example.com:<*> HTTPS"}));
  EXPECT_EQ(texts.at("close"),
            (std::set<std::string>{"<*> - mail.example.com:<*> close, <*> bytes sent, <*> bytes "
                                   "received, lifetime <*>:<*>"}));
  EXPECT_FALSE(m.Add(line("notepad.exe", "open", 0)).created);
}

TEST(MinerTest, PrefixOpensForBundleIdentifiers) {
  const std::vector<std::string> bundles = {
      "com.apple.xpc.launchd",   "com.apple.cloudd",    "com.apple.bird",
      "com.apple.Safari",        "com.apple.mdworker",  "com.apple.WindowServer",
      "com.apple.sharingd",      "com.apple.locationd", "com.apple.syncdefaultsd",
      "com.apple.nsurlsessiond", "com.apple.apsd",      "com.apple.CalendarAgent"};
  auto line = [](const std::string& bundle, const std::string&, int i) {
    return bundle + ": endpoint connection invalidated for pid " + std::to_string(100 + i) +
           " after " + std::to_string(i % 60) + " seconds";
  };
  TemplateMiner m;
  const auto texts = FinalTextsByEvent(&m, bundles, {"invalidated"}, line, 25);
  EXPECT_EQ(texts.at("invalidated"),
            (std::set<std::string>{
                "<*>: endpoint connection invalidated for pid <*> after <*> seconds"}));
}

TEST(MinerTest, PrefixOpensForUserNamesInTheFirstToken) {
  const std::vector<std::string> users = {"alice", "bob",   "carol", "dave", "erin",    "frank",
                                          "grace", "heidi", "ivan",  "judy", "mallory", "oscar"};
  auto line = [](const std::string& user, const std::string&, int i) {
    return user + " : TTY=pts/" + std::to_string(i % 5) + " ; PWD=/home/" + user +
           " ; USER=root ; COMMAND=/usr/bin/apt update";
  };
  TemplateMiner m;
  const auto texts = FinalTextsByEvent(&m, users, {"sudo"}, line, 25);
  EXPECT_EQ(texts.at("sudo"),
            (std::set<std::string>{"<*> : TTY=pts/<*> ; PWD=<*> ; USER=<*> ; COMMAND=<*> update"}));
}

// Families of event words that share the rest of the message stay apart in the leading words,
// however many lines each has.
TEST(MinerTest, PrefixKeepsEventWordFamiliesApart) {
  const std::vector<std::vector<std::string>> families = {
      {"Start", "Stop", "Restart"},
      {"Accepted", "Failed"},
      {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}};
  const std::vector<std::string> users = {"root", "deploy", "backup"};
  for (const auto& verbs : families) {
    auto line = [&](const std::string& user, const std::string& verb, int i) {
      return verb + " request by " + user + " for unit backup.service from 10.0.0." +
             std::to_string(i % 200) + " port " + std::to_string(40000 + i);
    };
    TemplateMiner m;
    const auto texts = FinalTextsByEvent(&m, users, verbs, line, 40);
    std::set<std::string> all;
    for (const std::string& v : verbs) {
      ASSERT_EQ(texts.at(v).size(), 1u) << v;
      EXPECT_EQ(texts.at(v).begin()->rfind(v + " request by <*> for unit", 0), 0u)
          << *texts.at(v).begin();
      all.insert(*texts.at(v).begin());
    }
    EXPECT_EQ(all.size(), verbs.size());
  }
  // opened/closed as the second word.
  auto session = [](const std::string& user, const std::string& verb, int) {
    return "session " + verb + " for user " + user + " by (uid=0)";
  };
  TemplateMiner m;
  const auto texts =
      FinalTextsByEvent(&m, {"root", "deploy", "backup", "www"}, {"opened", "closed"}, session, 40);
  EXPECT_EQ(texts.at("opened"),
            (std::set<std::string>{"session opened for user <*> by (uid=<*>)"}));
  EXPECT_EQ(texts.at("closed"),
            (std::set<std::string>{"session closed for user <*> by (uid=<*>)"}));
}

TEST(MinerTest, PrefixOpensAtZeroNeverGivesWay) {
  MinerOptions o;
  o.prefix_opens_at = 0;
  TemplateMiner m(o);
  const uint32_t id = m.Add("chrome.exe - open through proxy HTTPS").template_id;
  for (int i = 0; i < 20; ++i) {
    EXPECT_NE(m.Add("prog" + std::string(1, static_cast<char>('a' + i)) +
                    ".exe - open through proxy HTTPS")
                  .template_id,
              id);
  }
  EXPECT_EQ(m.Find(id)->text, "chrome.exe - open through proxy HTTPS");
}

TEST(MinerTest, ParametersExtracted) {
  std::vector<std::string> p;
  ASSERT_TRUE(ExtractParameters("user <*> from <*>:<*>", "user  bob from 1.2.3.4:22", &p));
  EXPECT_EQ(p, (std::vector<std::string>{"bob", "1.2.3.4", "22"}));
  EXPECT_FALSE(ExtractParameters("user <*> from", "admin x to", &p));
  EXPECT_TRUE(p.empty());
  ASSERT_TRUE(ExtractParameters("no vars", "no   vars", &p));
  EXPECT_TRUE(p.empty());
}

std::vector<std::string> MixedLines(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  const char* words[] = {"alpha", "beta", "gamma", "delta", "eps"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    switch (rng() % 4) {
      case 0:
        out.push_back("Received block blk_" + std::to_string(rng()) + " of size " +
                      std::to_string(rng() % 100000));
        break;
      case 1:
        out.push_back(std::string("Invalid user ") + words[rng() % 5] + " from 10.0.0." +
                      std::to_string(rng() % 255));
        break;
      case 2:
        out.push_back(std::string(words[rng() % 5]) + " " + words[rng() % 5] + " done in " +
                      std::to_string(rng() % 100) + "ms");
        break;
      default:
        out.push_back("unique" + std::string(1, static_cast<char>('a' + rng() % 26)) + " " +
                      words[rng() % 5] + " x=" + words[rng() % 5]);
    }
  }
  return out;
}

TEST(MinerTest, SaveRestoreIsExact) {
  MinerOptions o;
  o.max_templates = 8;  // exercise eviction state too
  TemplateMiner a(o);
  for (const std::string& l : MixedLines(500, 1)) a.Add(l);
  std::string state;
  a.SaveState(&state);
  TemplateMiner b;
  ASSERT_TRUE(b.RestoreState(state).ok());
  std::string state_b;
  b.SaveState(&state_b);
  EXPECT_TRUE(state == state_b);
  for (const std::string& l : MixedLines(500, 2)) {
    ParseResult ra = a.Add(l);
    ParseResult rb = b.Add(l);
    ASSERT_EQ(ra.template_id, rb.template_id) << l;
    ASSERT_EQ(ra.created, rb.created);
    ASSERT_EQ(ra.refined, rb.refined);
    ASSERT_EQ(ra.evicted_id, rb.evicted_id);
  }
  std::string end_a, end_b;
  a.SaveState(&end_a);
  b.SaveState(&end_b);
  EXPECT_TRUE(end_a == end_b);
}

// The lock's refused words and retired templates are part of the state: a miner restored between
// the refused word and the one that opens the lock (or after it) goes on exactly as the original.
TEST(MinerTest, SaveRestoreKeepsRefusedWordsAndRetiredTemplates) {
  auto line = [](const std::string& user, int i) {
    return "session opened for user " + user + " from port " + std::to_string(i);
  };
  TemplateMiner a;
  for (int i = 0; i < 30; ++i) a.Add(line("deploy", i));
  const uint32_t alice = a.Add(line("alice", 0)).template_id;
  std::string refused_state;
  a.SaveState(&refused_state);
  TemplateMiner b;
  ASSERT_TRUE(b.RestoreState(refused_state).ok());
  const ParseResult opens_a = a.Add(line("bob", 1));
  const ParseResult opens_b = b.Add(line("bob", 1));
  EXPECT_EQ(opens_a.template_id, opens_b.template_id);
  EXPECT_TRUE(opens_b.refined);  // without the refused word, bob would start a template
  std::string retired_state;
  b.SaveState(&retired_state);
  TemplateMiner c;
  ASSERT_TRUE(c.RestoreState(retired_state).ok());
  for (TemplateMiner* m : {&a, &b, &c}) {
    EXPECT_EQ(m->Add(line("alice", 2)).template_id, opens_a.template_id);
    ASSERT_NE(m->Find(alice), nullptr);  // retired, still known by its id, with the new text
    EXPECT_EQ(m->Find(alice)->text, "session opened for user <*> from port <*>");
  }
  std::string end_a, end_c;
  a.SaveState(&end_a);
  c.SaveState(&end_c);
  EXPECT_TRUE(end_a == end_c);
}

// Words the prefix rule refused are part of the state: a miner restored one word before the
// leading position gives way goes on exactly as the original, and its option is kept.
TEST(MinerTest, SaveRestoreKeepsPrefixRefusedWords) {
  auto line = [](int prog, int i) {
    return "prog" + std::string(1, static_cast<char>('a' + prog)) + ".exe - " + std::to_string(i) +
           " open through proxy HTTPS";
  };
  MinerOptions o;
  o.prefix_opens_at = 4;
  TemplateMiner a(o);
  const uint32_t first = a.Add(line(0, 0)).template_id;
  for (int p = 1; p < 4; ++p) EXPECT_NE(a.Add(line(p, p)).template_id, first);
  std::string state;
  a.SaveState(&state);
  TemplateMiner b;  // default options: the state's option replaces them
  ASSERT_TRUE(b.RestoreState(state).ok());
  EXPECT_EQ(b.options().prefix_opens_at, 4u);
  for (TemplateMiner* m : {&a, &b}) {
    const ParseResult r = m->Add(line(4, 9));  // the 4th different word: the position opens
    EXPECT_EQ(r.template_id, first);
    EXPECT_TRUE(r.refined);
    EXPECT_EQ(m->Find(first)->text, "<*> - <*> open through proxy HTTPS");
    EXPECT_EQ(m->Add(line(2, 10)).template_id, first);  // a refused word's template is retired
  }
  std::string end_a, end_b;
  a.SaveState(&end_a);
  b.SaveState(&end_b);
  EXPECT_TRUE(end_a == end_b);
}

TEST(MinerTest, RestoreRejectsBadBytesAndKeepsState) {
  TemplateMiner a;
  a.Add("hello world 1");
  std::string state;
  a.SaveState(&state);
  TemplateMiner b;
  b.Add("something else entirely");
  for (size_t cut : {size_t{0}, size_t{3}, state.size() / 2, state.size() - 1}) {
    Status st = b.RestoreState(std::string_view(state).substr(0, cut));
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << cut;
  }
  std::string bad = state;
  bad[0] ^= 0xFF;
  EXPECT_FALSE(b.RestoreState(bad).ok());
  EXPECT_FALSE(b.RestoreState(state + "x").ok());
  // Version-1 (before the lock's refused words were saved) and version-2 (before
  // prefix_opens_at) states are refused by name.
  for (char version : {1, 2}) {
    std::string old = state;
    old[4] = version;
    const Status old_version = b.RestoreState(old);
    EXPECT_EQ(old_version.code(), Status::Code::kCorruption);
    EXPECT_NE(old_version.ToString().find("unsupported version " + std::to_string(version)),
              std::string::npos)
        << old_version.ToString();
  }
  ASSERT_EQ(b.num_templates(), 1u);
  EXPECT_EQ(b.Templates()[0]->text, "something else entirely");
}

TEST(MinerTest, EvictsLeastRecentlyMatched) {
  MinerOptions o;
  o.max_templates = 3;
  TemplateMiner m(o);
  uint32_t a = m.Add("one").template_id;
  uint32_t b = m.Add("two words").template_id;
  uint32_t c = m.Add("three words here").template_id;
  EXPECT_EQ(m.Add("one").template_id, a);  // touch a: b is now least recent
  ParseResult d = m.Add("four words are here");
  EXPECT_TRUE(d.created);
  EXPECT_EQ(d.evicted_id, b);
  EXPECT_EQ(m.Find(b), nullptr);
  EXPECT_NE(m.Find(a), nullptr);
  EXPECT_NE(m.Find(c), nullptr);
  EXPECT_EQ(m.num_templates(), 3u);
  EXPECT_GT(d.template_id, c);  // ids are never reused
}

TEST(MinerTest, FloodOfUniqueLinesStaysBounded) {
  MinerOptions o;
  o.max_templates = 100;
  o.max_cache_entries = 256;
  TemplateMiner m(o);
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string line;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) {
      if (k) line.push_back(' ');
      for (int c = 0; c < 6; ++c) line.push_back(static_cast<char>('a' + rng() % 26));
    }
    m.Add(line);
  }
  EXPECT_LE(m.num_templates(), 100u);
  EXPECT_GT(m.stats().evictions, 0u);
  EXPECT_GT(m.stats().cache_clears, 0u);
  EXPECT_EQ(m.stats().lines, 20000u);
}

TEST(MinerTest, AnyBytesAccepted) {
  TemplateMiner m;
  std::string weird = std::string("\0\xff\x01 <*> \t\t", 10);
  ParseResult r = m.Add(weird);
  EXPECT_TRUE(r.created);
  m.Add("");
  m.Add("   ");
  std::string longline;
  for (int i = 0; i < 2000; ++i) {
    longline.push_back('w');
    longline.append(std::to_string(i % 7));
    longline.push_back(' ');
  }
  ParseResult l = m.Add(longline);
  EXPECT_LE(m.Find(l.template_id)->tokens.size(), m.options().max_tokens);
  ParseResult blob = m.Add("payload " + std::string(5000, 'Q') + " end");
  EXPECT_EQ(m.Find(blob.template_id)->text, "payload <*> end");
}

}  // namespace
}  // namespace backsight::logs
