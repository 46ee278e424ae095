// The analyzer's kinds on small synthetic logs: a benign population (browsing, a few misses, a
// few mistyped passwords) plus one attack; the attacker must be named with its kind and no
// benign client named at all.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/security/analyzer.h"
#include "backsight/security/auth_log.h"
#include "backsight/security/findings_format.h"
#include "backsight/security/population.h"
#include "backsight/security/request_inspector.h"

namespace backsight::security {
namespace {

constexpr int64_t kT0 = 1764633600;  // 2025-12-02T00:00:00Z
const char* const kBrowser =
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

std::string Clf(const std::string& ip, int64_t t, const std::string& method,
                const std::string& target, int status, const std::string& ua = kBrowser) {
  static const char* const kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, kMon[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return ip + " - - [" + buf + "] \"" + method + " " + target + " HTTP/1.1\" " +
         std::to_string(status) + " 512 \"-\" \"" + ua + "\"";
}

struct Line {
  int64_t t;
  std::string text;
};

// 200 benign clients over a day: pages and assets, 5 % misses, some log in (a tenth of those
// mistype once first).
std::vector<Line> BenignDay(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Line> out;
  const std::string pages[] = {
      "/",          "/about",        "/blog/",      "/blog/post-", "/css/site.css",
      "/js/app.js", "/img/logo.png", "/docs/intro", "/feed.xml"};
  for (int i = 0; i < 200; ++i) {
    const std::string ip = "198.51." + std::to_string(100 + i / 200) + "." + std::to_string(i + 1);
    int64_t t = kT0 + static_cast<int64_t>(rng() % 80000);
    const int n = 1 + static_cast<int>(rng() % 15);
    for (int j = 0; j < n; ++j) {
      std::string p = pages[rng() % 9];
      if (p.back() == '-') p += std::to_string(rng() % 50);
      const int status = rng() % 20 == 0 ? 404 : 200;
      out.push_back({t, Clf(ip, t, "GET", p, status)});
      t += 1 + static_cast<int64_t>(rng() % 90);
    }
    if (i % 4 == 0) {
      if (i % 40 == 0) {
        out.push_back({t, Clf(ip, t, "POST", "/login", 401)});
        t += 9;
      }
      out.push_back({t, Clf(ip, t, "POST", "/login", 302)});
    }
  }
  return out;
}

struct Outcome {
  std::vector<Finding> findings;
  AnalyzerStats stats;
};

Outcome Analyze(std::vector<Line> lines, AnalyzerOptions options = {}, bool crs = true) {
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.t < b.t; });
  InspectorOptions io;
  io.modsecurity = crs;
  std::unique_ptr<RequestInspector> inspector;
  EXPECT_TRUE(RequestInspector::Create(io, &inspector).ok());
  SecurityAnalyzer analyzer(options, inspector.get());
  api::AccessLogParser parser;
  api::AccessRecord rec;
  AuthEvent auth;
  for (const Line& l : lines) {
    if (LooksLikeSshdLine(l.text)) {
      bool found = false;
      EXPECT_TRUE(ParseAuthLine(l.text, 2025, &auth, &found).ok()) << l.text;
      if (found) analyzer.AddAuth(auth, l.text);
      continue;
    }
    EXPECT_TRUE(parser.Parse(l.text, &rec).ok()) << l.text;
    analyzer.AddRequest(rec, l.text);
  }
  Outcome r;
  r.findings = analyzer.Finish();
  r.stats = analyzer.stats();
  return r;
}

// The findings as "ip kind" strings.
std::set<std::string> Named(const Outcome& r) {
  std::set<std::string> out;
  for (const Finding& f : r.findings) out.insert(f.source_ip + " " + KindName(f.kind));
  return out;
}

TEST(SecurityTest, BenignDayNamesNobody) {
  EXPECT_TRUE(Analyze(BenignDay(1)).findings.empty());
  EXPECT_TRUE(Analyze(BenignDay(2)).findings.empty());
}

TEST(SecurityTest, FastBruteForce) {
  std::vector<Line> lines = BenignDay(3);
  for (int k = 0; k < 40; ++k) {
    const int64_t t = kT0 + 30000 + 2 * k;
    lines.push_back({t, Clf("203.0.113.66", t, "POST", "/login", 401, "python-requests/2.31")});
  }
  const Outcome r = Analyze(lines);
  EXPECT_EQ(Named(r), std::set<std::string>{"203.0.113.66 brute_force"});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].start_s, kT0 + 30000);
  EXPECT_EQ(r.findings[0].end_s, kT0 + 30078);
  EXPECT_GE(r.findings[0].score, 1.0);
  EXPECT_NE(r.findings[0].evidence.find("40 failed logins"), std::string::npos);
}

TEST(SecurityTest, FormLoginAnswering200IsAFailureOnARedirectSite) {
  // The benign day's logins succeed with 302, so a submission answered 200 re-rendered the form.
  std::vector<Line> lines = BenignDay(11);
  for (int k = 0; k < 30; ++k) {
    const int64_t t = kT0 + 70000 + 3 * k;
    lines.push_back({t, Clf("203.0.113.70", t, "POST", "/user/login", 200, "curl/8.0")});
  }
  EXPECT_EQ(Named(Analyze(lines)), std::set<std::string>{"203.0.113.70 brute_force"});
}

TEST(SecurityTest, SlowSshBruteForce) {
  std::vector<Line> lines = BenignDay(4);
  // One attempt every 7 minutes for 5 hours (a 10-minute fail2ban window never sees 5).
  for (int k = 0; k < 43; ++k) {
    const int64_t t = kT0 + 20000 + 420 * k;
    char buf[160];
    const std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(buf, sizeof(buf), "%b %e %H:%M:%S", &tm);
    lines.push_back({t, std::string(buf) + " web1 sshd[812]: Failed password for invalid user "
                                           "admin from 192.0.2.77 port 50122 ssh2"});
  }
  const Outcome r = Analyze(lines);
  EXPECT_EQ(Named(r), std::set<std::string>{"192.0.2.77 brute_force"});
  EXPECT_EQ(r.stats.auth_events, 43u);
}

TEST(SecurityTest, CredentialStuffingCampaignNamesEveryClient) {
  std::vector<Line> lines = BenignDay(5);
  std::set<std::string> expected;
  for (int k = 0; k < 25; ++k) {
    const std::string ip = "100.64." + std::to_string(k % 5) + "." + std::to_string(10 + k);
    expected.insert(ip + " credential_stuffing");
    for (int j = 0; j < 1 + k % 3; ++j) {
      const int64_t t = kT0 + 40000 + 250 * k + 60 * j;
      lines.push_back({t, Clf(ip, t, "POST", "/login", 401)});
    }
  }
  EXPECT_EQ(Named(Analyze(lines)), expected);
}

TEST(SecurityTest, CampaignLeavesOutBenignGiveUpsInsideItsWindow) {
  // A site where people log in all day from many browsers: every fifth mistypes once, a third of
  // those give up (one 401 and gone), some of them inside the campaign's hours. The campaign: 40
  // clients in 40 different /24s, 1-3 failures each, rotating 4 user agents, over 2 hours.
  std::vector<Line> lines = BenignDay(21);
  std::mt19937_64 rng(21);
  std::set<std::string> give_ups;
  for (int i = 0; i < 150; ++i) {
    const std::string ip = "198.18." + std::to_string(i) + "." + std::to_string(i % 7 + 2);
    const std::string ua = "Mozilla/5.0 (X11; Linux x86_64) Browser/" + std::to_string(i % 20);
    // Every tenth user comes inside the campaign's hours, the others all day.
    int64_t t = kT0 + (i % 10 == 0 ? 40000 + 700 * (i / 10) : static_cast<int64_t>(rng() % 80000));
    lines.push_back({t, Clf(ip, t, "GET", "/login", 200, ua)});
    t += 5;
    if (i % 5 == 0) {
      lines.push_back({t, Clf(ip, t, "POST", "/login", 401, ua)});
      t += 9;
      if (i % 15 == 0) {
        give_ups.insert(ip);
        continue;
      }
    }
    lines.push_back({t, Clf(ip, t, "POST", "/login", 302, ua)});
    lines.push_back({t + 2, Clf(ip, t + 2, "GET", "/blog/", 200, ua)});
  }
  std::set<std::string> expected;
  for (int k = 0; k < 40; ++k) {
    const std::string ip =
        "100." + std::to_string(64 + k) + "." + std::to_string(3 * k) + "." + std::to_string(9 + k);
    const std::string ua =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/12" + std::to_string(k % 4) + ".0";
    expected.insert(ip + " credential_stuffing");
    for (int j = 0; j < 1 + k % 3; ++j) {
      const int64_t t = kT0 + 40000 + 180 * k + 45 * j;
      lines.push_back({t, Clf(ip, t, "POST", "/login", 401, ua)});
    }
  }
  ASSERT_GE(give_ups.size(), 4u);
  const Outcome r = Analyze(lines);
  EXPECT_EQ(Named(r), expected);
  for (const Finding& f : r.findings) {
    EXPECT_TRUE(expected.count(f.source_ip + " " + KindName(f.kind))) << f.evidence;
    EXPECT_FALSE(give_ups.count(f.source_ip)) << f.evidence;
    EXPECT_NE(f.evidence.find("member: "), std::string::npos) << f.evidence;
  }
}

TEST(SecurityTest, CampaignMembersSubmittingBeforeAnyPageAreNamed) {
  // Members that blend in: each from its own /24, with the site's own browser, one failure
  // each -- but each posts to the login form as its first request, which a person's browser,
  // having to load the form first, does not. The benign give-ups load it first and, on this
  // site, often fail twice before giving up (all day, not only in the campaign's hours), so two
  // failures are no evidence of membership here.
  std::vector<Line> lines = BenignDay(25);
  std::set<std::string> give_ups, expected;
  for (int i = 0; i < 20; ++i) {
    const std::string ip = "198.19." + std::to_string(i) + ".7";
    const int64_t t = kT0 + (i < 8 ? 40000 + 900 * i : 2000 + 4000 * (i - 8));
    lines.push_back({t, Clf(ip, t, "GET", "/login", 200)});
    lines.push_back({t + 6, Clf(ip, t + 6, "POST", "/login", 401)});
    lines.push_back({t + 20, Clf(ip, t + 20, "POST", "/login", 401)});
    give_ups.insert(ip);
  }
  for (int k = 0; k < 40; ++k) {
    const std::string ip =
        "100." + std::to_string(64 + k) + "." + std::to_string(5 * k) + "." + std::to_string(9 + k);
    const int64_t t = kT0 + 40000 + 180 * k;
    lines.push_back({t, Clf(ip, t, "POST", "/login", 401)});
    expected.insert(ip + " credential_stuffing");
  }
  const Outcome r = Analyze(lines);
  EXPECT_EQ(Named(r), expected);
  for (const Finding& f : r.findings) {
    EXPECT_FALSE(give_ups.count(f.source_ip)) << f.evidence;
    EXPECT_NE(f.evidence.find("a login submitted before any page"), std::string::npos)
        << f.evidence;
  }
}

TEST(SecurityTest, ScannerByMissingPathsAndByUserAgent) {
  std::vector<Line> lines = BenignDay(6);
  for (int k = 0; k < 120; ++k) {
    const int64_t t = kT0 + 50000 + k;
    lines.push_back({t, Clf("203.0.113.7", t, "GET", "/old/admin" + std::to_string(k) + ".php", 404,
                            "Mozilla/5.0")});
  }
  for (int k = 0; k < 3; ++k) {
    const int64_t t = kT0 + 60000 + 5 * k;
    lines.push_back({t, Clf("203.0.113.8", t, "GET", "/", 200, "Mozilla/5.00 (Nikto/2.1.6)")});
  }
  EXPECT_EQ(Named(Analyze(lines)),
            (std::set<std::string>{"203.0.113.7 scanner", "203.0.113.8 scanner"}));
}

TEST(SecurityTest, InjectionProbeByCrs) {
  std::vector<Line> lines = BenignDay(7);
  const char* const probes[] = {"/blog/?id=1%27%20OR%20%271%27=%271",
                                "/docs/intro?file=../../../../etc/passwd",
                                "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
                                "/blog/?id=1%20UNION%20SELECT%20user,password%20FROM%20users--"};
  for (int k = 0; k < 4; ++k) {
    const int64_t t = kT0 + 45000 + 30 * k;
    lines.push_back({t, Clf("203.0.113.9", t, "GET", probes[k], k % 2 ? 200 : 403)});
  }
  const Outcome r = Analyze(lines);
  EXPECT_EQ(Named(r), std::set<std::string>{"203.0.113.9 injection_probe"});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].evidence.find("CRS"), std::string::npos);
  // The same probes from sqlmap: still injection_probe (its agent is only extra evidence).
  std::vector<Line> tool = BenignDay(7);
  for (int k = 0; k < 4; ++k) {
    const int64_t t = kT0 + 45000 + 30 * k;
    tool.push_back({t, Clf("203.0.113.9", t, "GET", probes[k], 200, "sqlmap/1.7.2#stable")});
  }
  EXPECT_EQ(Named(Analyze(tool)), std::set<std::string>{"203.0.113.9 injection_probe"});
  // Without the rule set the probes are not seen as attacks.
  EXPECT_TRUE(Analyze(lines, {}, /*crs=*/false).findings.empty());
}

TEST(SecurityTest, OneCorroboratedCrsRequestIsAnInjectionProbe) {
  std::vector<Line> lines = BenignDay(22);
  // One request that CRS's level-1 SQLi rule and others flag: named by itself.
  lines.push_back({kT0 + 41000, Clf("203.0.113.20", kT0 + 41000, "GET",
                                    "/blog/?id=1%27%20OR%20%271%27=%271", 200)});
  // One rule (a search for a PHP function) or only level-2 rules (an HTML tag and a "tautology"
  // in a search for <b>bold</b>): an ordinary client's stray hit, not named.
  lines.push_back({kT0 + 42000, Clf("198.51.100.230", kT0 + 42000, "GET",
                                    "/search?q=how+to+use+system()+in+php", 200)});
  lines.push_back({kT0 + 43000,
                   Clf("198.51.100.231", kT0 + 43000, "GET", "/docs/?q=%3Cb%3Ebold%3C/b%3E", 200)});
  const Outcome r = Analyze(lines);
  EXPECT_EQ(Named(r), std::set<std::string>{"203.0.113.20 injection_probe"});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].evidence.find("942100"), std::string::npos) << r.findings[0].evidence;
}

TEST(SecurityTest, PhpWrapperAndRemoteFileProbesReachTheRuleSet) {
  // No attack byte but a URL scheme in a parameter: CRS 933140/933200 (PHP wrappers) and 931
  // (remote file inclusion) see them only if the pre-filter lets them through.
  std::unique_ptr<RequestInspector> inspector;
  ASSERT_TRUE(RequestInspector::Create({}, &inspector).ok());
  EXPECT_TRUE(inspector->Suspicious("/index.php", "page=php://filter/resource=index.php"));
  EXPECT_TRUE(inspector->Suspicious("/index.php", "page=expect%3A%2F%2Fid"));
  EXPECT_FALSE(inspector->Suspicious("/about/php/filter", "page=2"));
  // A one-letter "scheme" (a mangled link in a real log) names no wrapper CRS knows.
  EXPECT_FALSE(inspector->Suspicious("/style.css", "p://www.example.com/about/"));
  std::vector<Line> lines = BenignDay(23);
  const char* const probes[] = {"/index.php?page=php://filter/convert.base64-encode/resource=x.php",
                                "/index.php?page=expect://id", "/index.php?page=phar://up/x.jpg"};
  for (int k = 0; k < 3; ++k) {
    const int64_t t = kT0 + 44000 + 40 * k;
    lines.push_back({t, Clf("203.0.113.21", t, "GET", probes[k], 200)});
  }
  EXPECT_EQ(Named(Analyze(lines)), std::set<std::string>{"203.0.113.21 injection_probe"});
}

TEST(SecurityTest, RandomUriFloodIsAbusiveAndAFastWordlistScanIsAScanner) {
  std::vector<Line> lines = BenignDay(24);
  std::mt19937_64 rng(24);
  const std::string alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int k = 0; k < 900; ++k) {
    const int64_t t = kT0 + 46000 + k / 5;  // 5 requests/s for 3 minutes, every path new
    std::string target = "/";
    for (int j = 0; j < 10; ++j) target += alnum[rng() % alnum.size()];
    lines.push_back({t, Clf("203.0.113.22", t, "GET", target, 404, "Go-http-client/1.1")});
  }
  // The same pace over a wordlist with CRS restricted files in it: discovery, a scanner.
  const char* const words[] = {"/.git/config", "/.env", "/.htpasswd", "/admin/", "/backup.zip"};
  for (int k = 0; k < 900; ++k) {
    const int64_t t = kT0 + 60000 + k / 5;
    lines.push_back(
        {t, Clf("203.0.113.23", t, "GET", "/d" + std::to_string(k / 5) + std::string(words[k % 5]),
                404, "Go-http-client/1.1")});
  }
  EXPECT_EQ(Named(Analyze(lines)),
            (std::set<std::string>{"203.0.113.22 abusive_client", "203.0.113.23 scanner"}));
}

TEST(SecurityTest, AbusiveClientByRate) {
  std::vector<Line> lines = BenignDay(8);
  for (int k = 0; k < 800; ++k) {
    const int64_t t = kT0 + 55000 + k / 4;  // 4 requests/s for 200 s, all found
    lines.push_back({t, Clf("203.0.113.10", t, "GET", "/blog/post-" + std::to_string(k % 50), 200,
                            "Go-http-client/1.1")});
  }
  EXPECT_EQ(Named(Analyze(lines)), std::set<std::string>{"203.0.113.10 abusive_client"});
}

TEST(SecurityTest, BrowserBurstIsNotAbusive) {
  // A slide deck clicked through for 5 minutes: a slide every 5 s, 4 requests over 2 s each
  // (48 requests a minute, active in 120 s of 300: fast, but not a machine's pace).
  std::vector<Line> lines = BenignDay(13);
  for (int k = 0; k < 240; ++k) {
    const int64_t t = kT0 + 57000 + (k / 4) * 5 + (k % 4) / 2;
    lines.push_back(
        {t, Clf("198.51.100.250", t, "GET", "/slides/img" + std::to_string(k) + ".png", 304)});
  }
  EXPECT_TRUE(Analyze(lines).findings.empty());
}

TEST(SecurityTest, CacheBustingFloodIsAbusive) {
  std::vector<Line> lines = BenignDay(12);
  std::mt19937_64 rng(12);
  for (int k = 0; k < 900; ++k) {
    const int64_t t = kT0 + 65000 + k / 3;  // 3 requests/s for 5 minutes, random query strings
    std::string target = "/blog/?nocache=";
    target += std::to_string(rng() % 1000000007);
    lines.push_back({t, Clf("203.0.113.11", t, "GET", target, 200, "Mozilla/5.0")});
  }
  EXPECT_EQ(Named(Analyze(lines)), std::set<std::string>{"203.0.113.11 abusive_client"});
}

TEST(SecurityTest, ClientStateIsBoundedAndEvictedClientsAreStillJudged) {
  std::vector<Line> lines = BenignDay(9);
  for (int k = 0; k < 40; ++k) {
    const int64_t t = kT0 + 100 + 2 * k;  // early: evicted long before the end
    lines.push_back({t, Clf("203.0.113.66", t, "POST", "/login", 401, "curl/8.0")});
  }
  AnalyzerOptions o;
  o.max_clients = 8;
  const Outcome r = Analyze(lines, o);
  EXPECT_EQ(Named(r), std::set<std::string>{"203.0.113.66 brute_force"});
  EXPECT_EQ(r.stats.clients, 201u);
  EXPECT_GE(r.stats.closed_capacity, 201u - 8u);
}

TEST(SecurityTest, JudgeWhileRunningSeesLiveClientsAndClosesNobody) {
  std::vector<Line> lines = BenignDay(14);
  for (int k = 0; k < 40; ++k) {
    const int64_t t = kT0 + 90000 + 2 * k;  // after the benign day: still live at the end
    lines.push_back({t, Clf("203.0.113.66", t, "POST", "/login", 401, "curl/8.0")});
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.t < b.t; });
  std::unique_ptr<RequestInspector> inspector;
  ASSERT_TRUE(RequestInspector::Create({}, &inspector).ok());
  SecurityAnalyzer analyzer({}, inspector.get());
  api::AccessLogParser parser;
  api::AccessRecord rec;
  for (const Line& l : lines) {
    ASSERT_TRUE(parser.Parse(l.text, &rec).ok());
    analyzer.AddRequest(rec, l.text);
  }
  const std::vector<Finding> live = analyzer.Judge();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].source_ip, "203.0.113.66");
  EXPECT_EQ(live[0].kind, Kind::kBruteForce);
  EXPECT_EQ(analyzer.Judge().size(), 1u);  // judging twice changes nothing
  const std::vector<Finding> end = analyzer.Finish();
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].evidence, live[0].evidence);
}

TEST(SecurityTest, SshdLines) {
  AuthEvent e;
  bool found = false;
  ASSERT_TRUE(ParseAuthLine("Dec  2 10:00:01 web1 sshd[812]: Failed password for invalid user "
                            "admin from 203.0.113.5 port 50122 ssh2",
                            2026, &e, &found)
                  .ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(e.outcome, AuthOutcome::kFailed);
  EXPECT_EQ(e.client, "203.0.113.5");
  EXPECT_EQ(e.user, "admin");
  EXPECT_EQ(e.time_s, 1796205601);  // 2026-12-02T10:00:01Z
  ASSERT_TRUE(ParseAuthLine("2026-12-02T10:00:02+00:00 web1 sshd[9]: Accepted publickey for ann "
                            "from 2001:db8::1 port 22 ssh2: ED25519 SHA256:x",
                            2026, &e, &found)
                  .ok());
  EXPECT_EQ(e.outcome, AuthOutcome::kAccepted);
  EXPECT_EQ(e.client, "2001:db8::1");
  EXPECT_EQ(e.time_s, 1796205602);
  ASSERT_TRUE(ParseAuthLine("Dec  2 10:00:03 web1 sshd[9]: pam_unix(sshd:session): session "
                            "opened for user ann",
                            2026, &e, &found)
                  .ok());
  EXPECT_FALSE(found);
  // Other ends of an attempt (OpenSSH 7.5+): each a failure with its user and address.
  const char* const failures[] = {
      "Dec  2 10:00:05 web1 sshd[7]: error: maximum authentication attempts exceeded for root "
      "from 203.0.113.6 port 4242 ssh2 [preauth]",
      "Dec  2 10:00:05 web1 sshd[7]: Connection closed by authenticating user root 203.0.113.6 "
      "port 4242 [preauth]",
      "Dec  2 10:00:05 web1 sshd[7]: Disconnected from invalid user root 203.0.113.6 port 4242 "
      "[preauth]",
      "Dec  2 10:00:05 web1 sshd[7]: Disconnecting authenticating user root 203.0.113.6 port "
      "4242: Too many authentication failures [preauth]"};
  for (const char* line : failures) {
    ASSERT_TRUE(ParseAuthLine(line, 2026, &e, &found).ok()) << line;
    ASSERT_TRUE(found) << line;
    EXPECT_EQ(e.outcome, AuthOutcome::kFailed) << line;
    EXPECT_EQ(e.client, "203.0.113.6") << line;
    EXPECT_EQ(e.user, "root") << line;
    EXPECT_EQ(e.time_s, 1796205605) << line;
  }
  // A connection closed before any login attempt says nothing about logins.
  ASSERT_TRUE(ParseAuthLine("Dec  2 10:00:06 web1 sshd[8]: Connection closed by 203.0.113.7 port "
                            "4243 [preauth]",
                            2026, &e, &found)
                  .ok());
  EXPECT_FALSE(found);
  const Status st =
      ParseAuthLine("Dec  2 10:00:04 web1 sshd[9]: Invalid user bob", 2026, &e, &found);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("without \"from ADDRESS\""), std::string::npos);
}

TEST(SecurityTest, PopulationFenceAndPoissonTail) {
  // Iglewicz-Hoaglin: log1p values {0 x 8, log 2, log 3}: median 0, MAD 0 -> mean-deviation
  // scale; a 100 is past the fence, a 1 is not.
  const Fence f = RobustFence({0, 0, 0, 0, 0, 0, 0, 0, 1, 2});
  EXPECT_GT(100, f.threshold);
  EXPECT_LT(1, f.threshold);
  EXPECT_NEAR(PoissonTail(1, 0.5), 1 - std::exp(-0.5), 1e-12);
  EXPECT_NEAR(PoissonTail(3, 2), 1 - std::exp(-2) * (1 + 2 + 2), 1e-12);
  EXPECT_EQ(PoissonThreshold(2, 0.01), 7);  // P(X>=6|2) = 0.0166, P(X>=7|2) = 0.0045
}

TEST(SecurityTest, PrefilterPassesAttackBytesOnly) {
  std::unique_ptr<RequestInspector> inspector;
  ASSERT_TRUE(RequestInspector::Create({}, &inspector).ok());
  const RequestInspector& r = *inspector;
  EXPECT_FALSE(r.Suspicious("/blog/", "utm_campaign=Feed:+main+(semicomplete.com)"));
  EXPECT_FALSE(r.Suspicious("/files/", "C=D;O=A"));
  EXPECT_TRUE(r.Suspicious("/x", "q=alert(1)"));
  EXPECT_TRUE(r.Suspicious("/cgi-bin/test.cgi", "cmd=;cat%20/etc/passwd"));
  EXPECT_TRUE(r.Suspicious("/x", "id=1%20OR%201=1"));
  EXPECT_TRUE(r.Suspicious("/download", "file=/etc/passwd"));
  EXPECT_FALSE(r.Suspicious("/blog/tags/puppet", "page=2&sort=new"));
  EXPECT_FALSE(r.Suspicious("/a%20b", ""));
  EXPECT_TRUE(r.Suspicious("/x", "id=1%27"));
  EXPECT_TRUE(r.Suspicious("/x/../../etc/passwd", ""));
  EXPECT_TRUE(r.Suspicious("/x", "q=${jndi:ldap://a}"));
  EXPECT_TRUE(r.Suspicious("/x", "id=1+UNION+SELECT+1--"));
}

TEST(SecurityTest, FormatsTsvJsonAndNothing) {
  Finding f{"203.0.113.1", 10, 20, Kind::kScanner, 2.5, "many misses"};
  EXPECT_EQ(
      FormatFindings({f}, FindingsFormat::kTsv),
      "source_ip\tstart_ts\tend_ts\tkind\tscore\tevidence\n203.0.113.1\t10\t20\tscanner\t2.5\t"
      "many misses\n");
  EXPECT_NE(FormatFindings({f}, FindingsFormat::kJson).find("\"kind\": \"scanner\""),
            std::string::npos);
  EXPECT_EQ(FormatFindings({}, FindingsFormat::kTsv), "");
}

}  // namespace
}  // namespace backsight::security
