#include "backsight/security/analyzer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "backsight/core/number_format.h"
#include "backsight/core/time.h"

namespace backsight::security {
namespace {

// Distinct paths tracked per client (hashes); beyond it the count saturates, which is far past
// any fence (a site's normal client misses a handful of paths).
constexpr size_t kMaxDistinctTracked = 1024;
// Failed-login times kept per client, for the campaign buckets (campaign members fail a few times
// each; a client with more is judged as brute force on its count).
constexpr size_t kMaxFailTimes = 32;
// Evidence lines are cut to this many bytes.
constexpr size_t kMaxEvidenceBytes = 240;
// Request-rate window: requests within 60 s (the per-minute rate of rate limiters such as nginx
// limit_req's r/m).
constexpr int64_t kRateWindowS = 60;
// Sustained-activity window: distinct seconds with a request within 5 minutes. A browser fetches
// a page and its assets in a burst of a few seconds; a machine walking the site is active nearly
// every second. (Five minutes: the window of rate limiters' longer tiers, e.g. Cloudflare's.)
constexpr int64_t kActiveWindowS = 300;
// Campaign bucket: one hour of failed logins site-wide (a campaign spread over hours shows as
// hours far above the site's normal hourly failures).
constexpr int64_t kCampaignBucketS = 3600;
// A fence needs a population: below this many clients with the signal, the fence is computed
// over every client instead (the median/MAD of a handful of values is not a population).
constexpr size_t kMinActivePopulation = 10;
// CRS hits after which a client's requests no longer go to ModSecurity: more hits add no
// evidence (P(X >= 16) < 1e-13 for any site rate up to one hit per client) and a scanner would
// otherwise spend milliseconds per request of the pipeline's time.
constexpr uint32_t kEnoughCrsHits = 16;
// CRS's points for a critical rule and its inbound blocking threshold (crs-setup.conf, rules
// 900100 and 900110 as shipped).
constexpr int kCrsCriticalPoints = 5;
// One request is named by itself when a paranoia level 1 rule (the rules CRS runs on every site)
// flags it as critical and its attack score reaches twice the blocking threshold (another
// critical rule agrees). A request one rule flags, or only level 2 rules (e.g. an HTML tag and a
// "tautology" in a search for "<b>bold</b>"), stays subject to the site's rate of isolated hits:
// a real client's URL tripped one PHP rule on websec.
constexpr int kCorroboratedAttackScore = 2 * kCrsCriticalPoints;
// Longest run of hours the campaign scan tests (a day: a campaign spread over a working day is
// one run).
constexpr size_t kMaxCampaignBuckets = 24;
// Distinct user agents whose client counts are kept (beyond it new agents count as unseen,
// which only makes a shared agent look rarer to the campaign test for those agents).
constexpr size_t kMaxAgentsTracked = 1 << 16;
// A campaign member mostly fails logins (majority of its requests).
constexpr double kMemberFailShare = 0.5;

// Login endpoints by name (the paths fail2ban's filter.d and CRS's exclusion rules treat as
// logins).
bool IsLoginPath(std::string_view path) {
  static constexpr std::string_view kNames[] = {"login",   "logon", "signin",  "sign-in",
                                                "sign_in", "auth",  "session", "token"};
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = lower(path[i]);
    for (std::string_view n : kNames) {
      if (c != n[0] || path.size() - i < n.size()) continue;
      size_t j = 1;
      while (j < n.size() && lower(path[i + j]) == n[j]) ++j;
      if (j == n.size()) return true;
    }
  }
  return false;
}

std::string Clip(std::string_view line) {
  std::string s(line.substr(0, kMaxEvidenceBytes));
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// The /24 (IPv4) or the address itself (IPv6, names).
std::string Prefix24(const std::string& ip) {
  size_t dot = ip.rfind('.');
  if (dot == std::string::npos || ip.find(':') != std::string::npos) return ip;
  return ip.substr(0, dot) + ".0/24";
}

std::string Fmt(double v) { return FormatDouble(v, 4); }

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kBruteForce:
      return "brute_force";
    case Kind::kCredentialStuffing:
      return "credential_stuffing";
    case Kind::kScanner:
      return "scanner";
    case Kind::kInjectionProbe:
      return "injection_probe";
    case Kind::kAbusiveClient:
      return "abusive_client";
  }
  return "other";
}

struct SecurityAnalyzer::Client {
  std::string ip;
  int64_t first_s = 0, last_s = 0;
  uint64_t n = 0;
  uint32_t fails = 0, logins_ok = 0;
  int64_t fail_first = 0, fail_last = 0;
  std::vector<int64_t> fail_times;       // first kMaxFailTimes
  std::unordered_set<uint64_t> missing;  // hashes of distinct missing or restricted paths
  uint32_t crs_hits = 0;
  uint32_t restricted = 0;  // distinct restricted-file paths (CRS restricted-files.data)
  bool scanner_ua = false;
  // Requests per second over the last kRateWindowS seconds (ring), their sum and its peak.
  uint32_t slots[kRateWindowS] = {};
  int64_t head_s = 0;
  uint32_t window = 0, peak = 0;
  int64_t peak_s = 0;
  // Seconds with a request over the last kActiveWindowS seconds (bit ring), their count and peak.
  uint64_t active_bits[(kActiveWindowS + 63) / 64] = {};
  int64_t active_head = -1;
  uint32_t active = 0, active_peak = 0;
  std::string user_agent;
  std::string ev_fail, ev_missing, ev_crs, ev_ua, ev_rate;
  std::string crs_why;
  bool blind_submit = false;      // first request was a failed login submission (HTTP only)
  bool crs_corroborated = false;  // a request past kCorroboratedAttackScore with a PL1 rule
  int crs_peak = 0;          // highest CRS attack score of one request (CrsVerdict::attack_score)
  size_t missing_count = 0;  // set size frozen at close
  size_t Missing() const { return std::max(missing_count, missing.size()); }
};

SecurityAnalyzer::SecurityAnalyzer(AnalyzerOptions options, RequestInspector* inspector)
    : options_(options),
      inspector_(inspector),
      fails_(options.reservoir),
      missing_(options.reservoir),
      peak_(options.reservoir),
      active_(options.reservoir) {}
SecurityAnalyzer::~SecurityAnalyzer() = default;

SecurityAnalyzer::Client* SecurityAnalyzer::Touch(std::string_view ip, int64_t t) {
  if (t < 0) t = last_time_;
  last_time_ = std::max(last_time_, t);
  EvictIdle(last_time_);
  auto it = index_.find(ip);
  Client* c;
  if (it == index_.end()) {
    if (lru_.size() >= options_.max_clients) {
      ++stats_.closed_capacity;
      index_.erase(lru_.back().ip);
      Close(&lru_.back());
      lru_.pop_back();
    }
    lru_.emplace_front();
    c = &lru_.front();
    c->ip.assign(ip);
    c->first_s = c->head_s = t;
    index_.emplace(c->ip, lru_.begin());
    ++stats_.clients;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
    c = &lru_.front();
  }
  c->last_s = std::max(c->last_s, t);
  // Slide the rate window to t (an out-of-order line counts in the current second).
  if (t > c->head_s) {
    const int64_t steps = std::min<int64_t>(t - c->head_s, kRateWindowS);
    for (int64_t s = 1; s <= steps; ++s) {
      uint32_t& slot = c->slots[(c->head_s + s) % kRateWindowS];
      c->window -= slot;
      slot = 0;
    }
    c->head_s = t;
  }
  ++c->slots[c->head_s % kRateWindowS];
  if (t > c->active_head) {
    const int64_t from =
        c->active_head < 0 ? t : std::max(c->active_head + 1, t - kActiveWindowS + 1);
    for (int64_t s = from; s <= t; ++s) {
      const int64_t b = s % kActiveWindowS;
      uint64_t& word = c->active_bits[b / 64];
      if (word >> (b % 64) & 1) --c->active;
      word &= ~(uint64_t{1} << (b % 64));
    }
    c->active_bits[(t % kActiveWindowS) / 64] |= uint64_t{1} << ((t % kActiveWindowS) % 64);
    ++c->active;
    c->active_head = t;
    c->active_peak = std::max(c->active_peak, c->active);
  }
  ++c->window;
  if (c->window > c->peak) {
    c->peak = c->window;
    c->peak_s = t;
  }
  ++c->n;
  return c;
}

void SecurityAnalyzer::EvictIdle(int64_t now) {
  while (!lru_.empty() && lru_.back().last_s + options_.idle_close_s < now) {
    ++stats_.closed_idle;
    index_.erase(lru_.back().ip);
    Close(&lru_.back());
    lru_.pop_back();
  }
}

void SecurityAnalyzer::AddToPopulation(const Client& c, Reservoir* fails, Reservoir* missing,
                                       Reservoir* peak, Reservoir* active, uint64_t* isolated) {
  fails->Add(c.fails);
  missing->Add(static_cast<double>(c.Missing()));
  if (c.n >= 2) {
    peak->Add(c.peak);
    active->Add(c.active_peak);
  }
  if (c.crs_hits == 1) ++*isolated;
}

bool SecurityAnalyzer::HasSignal(const Client& c) {
  // Kept for judging only with a signal some kind needs (abusive needs activity in most seconds
  // of a window, see Judge), so closed summaries grow with suspicious clients, not all clients.
  return c.fails > 0 || c.Missing() > 0 || c.crs_hits > 0 || c.scanner_ua ||
         2 * static_cast<int64_t>(c.active_peak) > kActiveWindowS;
}

void SecurityAnalyzer::Close(Client* c) {
  c->missing_count = c->missing.size();
  AddToPopulation(*c, &fails_, &missing_, &peak_, &active_, &isolated_crs_hits_);
  if (!HasSignal(*c)) return;
  std::unordered_set<uint64_t>().swap(c->missing);
  ++stats_.summaries;
  closed_.push_back(std::move(*c));
}

void SecurityAnalyzer::AddRequest(const api::AccessRecord& r, std::string_view line) {
  if (r.client.empty()) return;
  ++stats_.requests;
  ++total_requests_;
  const int64_t t = r.time_ns < 0 ? -1 : r.time_ns / kNanosPerSecond;
  Client* c = Touch(r.client, t);
  const bool new_agent = c->n == 1 || r.user_agent != c->user_agent;
  if (c->n == 1) {
    auto it = agent_clients_.find(AgentKey(r.user_agent));
    if (it != agent_clients_.end()) {
      ++it->second;
    } else if (agent_clients_.size() < kMaxAgentsTracked) {
      agent_clients_.emplace(AgentKey(r.user_agent), 1);
    }
  }
  if (new_agent) c->user_agent.assign(r.user_agent);
  if (c->window == c->peak && c->peak > 1) c->ev_rate = Clip(line);
  const bool login = IsLoginPath(r.path);
  const bool submit = r.method != "GET" && r.method != "HEAD";
  // A site whose login form answers a submission with a redirect (Post/Redirect/Get) re-renders
  // the form (200) on a failure: from its first redirect on, a submission answered 200 fails.
  if (login && submit && r.status >= 300 && r.status < 400) ++login_redirects_;
  const bool form_failure = login && submit && r.status == 200 && login_redirects_ > 0;
  // Failed logins: 401 anywhere (RFC 9110 15.5.2: no valid credentials, incl. basic auth), 403
  // on a login endpoint, a re-rendered login form.
  if (r.status == 401 || (r.status == 403 && login) || form_failure) {
    // A failed login submission as the client's very first request: no form or page fetched
    // before it (a person's browser loads the login page first; a replaying tool need not).
    if (c->n == 1 && login && submit) c->blind_submit = true;
    if (c->fails++ == 0) {
      c->fail_first = c->last_s;
      c->ev_fail = Clip(line);
    }
    c->fail_last = c->last_s;
    if (c->fail_times.size() < kMaxFailTimes) c->fail_times.push_back(c->last_s);
  } else if (login && submit && r.status < 400) {
    ++c->logins_ok;
  }
  const std::hash<std::string_view> h;
  const bool restricted = inspector_ != nullptr && inspector_->IsRestrictedFile(r.path);
  if ((r.status == 404 || r.status == 410 || restricted) &&
      c->missing.size() < kMaxDistinctTracked) {
    if (c->missing.insert(h(r.path)).second) {
      c->restricted += restricted;
      if (c->ev_missing.empty() || (restricted && c->restricted == 1)) c->ev_missing = Clip(line);
    }
  }
  if (inspector_ == nullptr) return;
  if (new_agent && !c->scanner_ua && inspector_->IsScannerAgent(r.user_agent)) {
    c->scanner_ua = true;
    c->ev_ua = Clip(line);
  }
  if (c->crs_hits < kEnoughCrsHits &&
      inspector_->Inspect(r.method, r.path, r.query, r.user_agent, &verdict_)) {
    if (c->crs_hits++ == 0 || verdict_.attack_score > c->crs_peak) {
      c->ev_crs = Clip(line);
      c->crs_why = verdict_.why;
    }
    c->crs_peak = std::max(c->crs_peak, verdict_.attack_score);
    c->crs_corroborated |= verdict_.attack_score >= kCorroboratedAttackScore &&
                           verdict_.attack_score_pl1 >= kCrsCriticalPoints;
  }
}

void SecurityAnalyzer::AddAuth(const AuthEvent& e, std::string_view line) {
  if (e.client.empty()) return;
  ++stats_.auth_events;
  Client* c = Touch(e.client, e.time_s);
  if (e.outcome == AuthOutcome::kAccepted) {
    ++c->logins_ok;
    return;
  }
  if (c->fails++ == 0) {
    c->fail_first = c->last_s;
    c->ev_fail = Clip(line);
  }
  c->fail_last = c->last_s;
  if (c->fail_times.size() < kMaxFailTimes) c->fail_times.push_back(c->last_s);
}

namespace {

// Fence of a count feature: over clients with the signal when there are enough of them, else
// over every client.
Fence ActiveFence(const std::vector<double>& all) {
  std::vector<double> active;
  for (double v : all) {
    if (v > 0) active.push_back(v);
  }
  return RobustFence(active.size() >= kMinActivePopulation ? active : all);
}

// The site's typical per-client count: the mean over all clients of the count capped at the
// median of the clients with the signal (a few heavy attackers cannot raise it much).
double TypicalRate(const std::vector<double>& all) {
  std::vector<double> active;
  for (double v : all) {
    if (v > 0) active.push_back(v);
  }
  if (all.empty()) return 0;
  double cap = 0;
  if (!active.empty()) {
    std::nth_element(active.begin(), active.begin() + active.size() / 2, active.end());
    cap = active[active.size() / 2];
  }
  double sum = 0;
  for (double v : all) sum += std::min(v, cap);
  return sum / static_cast<double>(all.size());
}

// The site's normal failures per hour: the mean hour, recomputed without the hours a Poisson
// test at that mean flags (Bonferroni over the hours) until no more are dropped -- a campaign's
// hours do not raise the normal they are judged against. (A median is 0 on a site where failures
// are rarer than one an hour, which makes every hour with one failure look abnormal.) At least
// one failure over all hours (a clean site still has a rate).
double NormalHourlyRate(const std::vector<double>& counts) {
  const double alpha = kFamilyAlpha / static_cast<double>(std::max<size_t>(1, counts.size()));
  std::vector<char> dropped(counts.size(), 0);
  double normal = 0;
  for (size_t iteration = 0; iteration < counts.size(); ++iteration) {
    double sum = 0, n = 0;
    for (size_t b = 0; b < counts.size(); ++b) {
      if (!dropped[b]) sum += counts[b], n += 1;
    }
    normal = std::max(sum, 1.0) / std::max(n, 1.0);
    bool changed = false;
    for (size_t b = 0; b < counts.size(); ++b) {
      if (!dropped[b] && PoissonTail(counts[b], normal) < alpha) dropped[b] = changed = true;
    }
    if (!changed) break;
  }
  return normal;
}

// A run of hours of failed logins: first hour (index), length in hours, Poisson p of its sum.
struct CampaignRun {
  size_t first = 0;
  size_t length = 0;
  double p = 1;
};

// Scan statistic over runs of 1..max_len hours (Kulldorff's scan; `alpha` already divided by
// every run tested): the run whose sum is least likely at its length times `normal` is a
// campaign window when that is below `alpha`, and the search is repeated over the hours left for
// further campaigns. Runs start and end with an hour above normal. (The most significant run is
// tight around a campaign's dense hours, a longer one dilutes it; a union of every significant
// run would stretch a campaign over the whole day.)
std::vector<CampaignRun> ScanCampaignRuns(const std::vector<double>& counts, double normal,
                                          size_t max_len, double alpha) {
  std::vector<char> taken(counts.size(), 0);
  std::vector<CampaignRun> runs;
  // The smallest significant sum per run length: the tail is computed only for runs past it.
  std::vector<double> need(max_len + 1, 0);
  for (size_t len = 1; len <= max_len; ++len) {
    need[len] = PoissonThreshold(static_cast<double>(len) * normal, alpha);
  }
  while (true) {
    CampaignRun best;
    best.p = alpha;
    for (size_t b = 0; b < counts.size(); ++b) {
      if (counts[b] <= normal) continue;
      double sum = 0;
      for (size_t len = 1; len <= max_len && b + len <= counts.size() && !taken[b + len - 1];
           ++len) {
        sum += counts[b + len - 1];
        if (counts[b + len - 1] <= normal || sum < need[len]) continue;
        const double p = PoissonTail(sum, static_cast<double>(len) * normal);
        if (p < best.p) best = {b, len, p};
      }
    }
    if (best.length == 0) break;
    std::fill_n(taken.begin() + best.first, best.length, 1);
    runs.push_back(best);
  }
  return runs;
}

double ScoreFromP(double p, double alpha) {
  if (p <= 0) return 10;
  return std::max(1.0, std::log10(p) / std::log10(alpha));
}

}  // namespace

uint64_t SecurityAnalyzer::AgentKey(std::string_view user_agent) {
  return std::hash<std::string_view>()(user_agent);
}

uint32_t SecurityAnalyzer::AgentClients(std::string_view user_agent) const {
  auto it = agent_clients_.find(AgentKey(user_agent));
  return it == agent_clients_.end() ? 0 : it->second;
}

std::vector<Finding> SecurityAnalyzer::Finish() {
  while (!lru_.empty()) {
    index_.erase(lru_.back().ip);
    Close(&lru_.back());
    lru_.pop_back();
  }
  return Judge();
}

std::vector<Finding> SecurityAnalyzer::Judge() const {
  // The population: closed clients (reservoirs) plus the live clients as they are now.
  Reservoir fails_r = fails_, missing_r = missing_, peak_r = peak_, active_r = active_;
  uint64_t isolated = isolated_crs_hits_;
  std::vector<const Client*> clients;
  clients.reserve(closed_.size() + lru_.size());
  for (const Client& c : closed_) clients.push_back(&c);
  for (const Client& c : lru_) {
    AddToPopulation(c, &fails_r, &missing_r, &peak_r, &active_r, &isolated);
    if (HasSignal(c)) clients.push_back(&c);
  }
  std::vector<Finding> out;
  const double n_clients = std::max<double>(1, static_cast<double>(stats_.clients));
  const double alpha = kFamilyAlpha / n_clients;
  const Fence fail_fence = ActiveFence(fails_r.values());
  const double fail_rate = TypicalRate(fails_r.values());
  const double fail_min = PoissonThreshold(fail_rate, alpha);
  const Fence miss_fence = ActiveFence(missing_r.values());
  const double miss_rate = TypicalRate(missing_r.values());
  const double miss_min = PoissonThreshold(miss_rate, alpha);
  const Fence peak_fence = RobustFence(peak_r.values());
  const Fence active_fence = RobustFence(active_r.values());
  // Per-request rate of CRS hits on this site's ordinary traffic: isolated hits (clients with
  // one) over all requests, plus one (Laplace) so a clean site still has a rate.
  const double crs_rate =
      (static_cast<double>(isolated) + 1) / std::max<double>(1, total_requests_);

  std::vector<const Client*> unclaimed_fails;  // failing clients not named by another kind
  for (const Client* cp : clients) {
    const Client& c = *cp;
    const size_t missing_count = c.Missing();
    Finding f;
    f.source_ip = c.ip;
    f.start_s = c.first_s;
    f.end_s = c.last_s;
    const double p_fail = PoissonTail(c.fails, fail_rate);
    const double p_miss = PoissonTail(static_cast<double>(missing_count), miss_rate);
    const double p_crs = PoissonTail(c.crs_hits, crs_rate * static_cast<double>(c.n));
    const bool fast = c.peak > peak_fence.threshold;
    // Sustained: active in more seconds of a 5-minute window than the site's clients, and in
    // most of them (a machine's pace; a person reading pauses longer than the page takes to
    // load -- a slide deck clicked through for 5 minutes was active in 53 s of 300).
    const bool sustained = c.active_peak > active_fence.threshold &&
                           2 * static_cast<int64_t>(c.active_peak) > kActiveWindowS;
    const bool injection = c.crs_hits > 0 && (p_crs < alpha || c.crs_corroborated);
    const bool walks_missing = missing_count > miss_fence.threshold && missing_count >= miss_min;
    // A flood of missing paths at a machine's pace that asks for nothing known to be sensitive
    // (no CRS restricted file, no payload, no scanner agent) is load, not discovery: a
    // random-URI flood (cache or 404 flooding) is an abusive client.
    const bool discovery = c.restricted > 0 || c.crs_hits > 0 || c.scanner_ua;
    const bool flood = fast && sustained && !discovery;
    if (c.fails > fail_fence.threshold && c.fails >= fail_min) {
      f.kind = Kind::kBruteForce;
      f.start_s = c.fail_first;
      f.end_s = c.fail_last;
      f.score = std::max(1.0, fail_fence.Z(c.fails) / kOutlierZ);
      f.evidence = std::to_string(c.fails) + " failed logins (site fence " +
                   Fmt(fail_fence.threshold) + ", typical " + Fmt(fail_rate) +
                   " per client); first: " + c.ev_fail;
    } else if ((walks_missing && !flood) || (c.scanner_ua && !injection)) {
      // Walking missing paths, or a scanner's user agent on a client whose payloads do not say
      // more (sqlmap's agent on a client firing injections is an injection_probe).
      f.kind = Kind::kScanner;
      f.score = c.scanner_ua ? 1 : 0;
      f.score =
          std::max({1.0, f.score, miss_fence.Z(static_cast<double>(missing_count)) / kOutlierZ});
      f.evidence = std::to_string(missing_count) +
                   " distinct missing or restricted paths (site fence " +
                   Fmt(miss_fence.threshold) + ")";
      if (c.scanner_ua) f.evidence += "; scanner user agent (CRS 913100): " + c.ev_ua;
      if (!c.ev_missing.empty()) f.evidence += "; first: " + c.ev_missing;
    } else if (injection) {
      f.kind = Kind::kInjectionProbe;
      f.score = ScoreFromP(p_crs, alpha);
      f.evidence = std::to_string(c.crs_hits) + " of " + std::to_string(c.n) +
                   " requests hit OWASP CRS (peak score " + std::to_string(c.crs_peak) + ": " +
                   c.crs_why + "); first: " + c.ev_crs;
      if (c.scanner_ua) f.evidence += "; scanner user agent: " + c.ev_ua;
    } else if (fast && sustained) {
      // Far above the site's request rate, and sustained (not one page's burst of assets).
      f.kind = Kind::kAbusiveClient;
      f.start_s = std::max(c.first_s, c.peak_s - kRateWindowS);
      f.score =
          std::max(1.0, std::min(peak_fence.Z(c.peak), active_fence.Z(c.active_peak)) / kOutlierZ);
      f.evidence = std::to_string(c.peak) + " requests in 60 s (site fence " +
                   Fmt(peak_fence.threshold) + ", median " + Fmt(peak_fence.median) + "), " +
                   "active in " + std::to_string(c.active_peak) + " s of 300 (site fence " +
                   Fmt(active_fence.threshold) + "), " + std::to_string(c.n) +
                   " requests in all, " + std::to_string(missing_count) +
                   " distinct missing paths; at peak: " + c.ev_rate;
    } else {
      if (c.fails > 0) unclaimed_fails.push_back(&c);
      continue;
    }
    (void)p_fail;
    (void)p_miss;
    out.push_back(std::move(f));
  }

  // Credential stuffing: runs of hours whose failures by would-be campaign members (clients not
  // named above, mostly failing, not a typo followed by a login and browsing) are far above the
  // site's normal hour; inside them, the candidates whose traits say "campaign" (Membership).
  std::vector<const Client*> candidates;
  for (const Client* c : unclaimed_fails) {
    if (c->fails < kMemberFailShare * static_cast<double>(c->n)) continue;
    // A person who mistyped, logged in and went on browsing is no campaign member.
    if (c->logins_ok > 0 && c->n > c->fails + c->logins_ok) continue;
    candidates.push_back(c);
  }
  if (!candidates.empty()) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const Client* c : clients) {
      lo = std::min(lo, c->first_s / kCampaignBucketS);
      hi = std::max(hi, c->last_s / kCampaignBucketS);
    }
    const size_t n_buckets = static_cast<size_t>(hi - lo + 1);
    std::vector<double> counts(n_buckets, 0);
    for (const Client* c : candidates) {
      for (int64_t t : c->fail_times) counts[t / kCampaignBucketS - lo] += 1;
    }
    // The normal hour first from every hour (NormalHourlyRate), then from the hours outside the
    // campaign windows found with it, and the windows found again at that normal (a slow
    // campaign raises the mean of every hour without standing out in any one).
    const size_t max_len = std::min<size_t>(n_buckets, kMaxCampaignBuckets);
    const double bucket_alpha = kFamilyAlpha / static_cast<double>(n_buckets * max_len);
    double normal = NormalHourlyRate(counts);
    std::vector<CampaignRun> runs = ScanCampaignRuns(counts, normal, max_len, bucket_alpha);
    if (!runs.empty()) {
      std::vector<char> in_run(n_buckets, 0);
      for (const CampaignRun& r : runs) std::fill_n(in_run.begin() + r.first, r.length, 1);
      double sum = 0, hours = 0;
      for (size_t k = 0; k < n_buckets; ++k) {
        if (!in_run[k]) sum += counts[k], hours += 1;
      }
      normal = std::max(sum, 1.0) / std::max(hours, 1.0);
      runs = ScanCampaignRuns(counts, normal, max_len, bucket_alpha);
    }
    std::vector<std::tuple<int64_t, int64_t, double>> windows;  // start, end (s), p
    for (const CampaignRun& r : runs) {
      const int64_t ws = (lo + static_cast<int64_t>(r.first)) * kCampaignBucketS;
      windows.emplace_back(ws, ws + static_cast<int64_t>(r.length) * kCampaignBucketS, r.p);
    }
    const double site_clients = std::max<double>(1, static_cast<double>(stats_.clients));
    // The site's own failing clients outside every window (and the hour either side): the
    // benign side of the membership likelihood ratios.
    double n_outside = 0, out_repeat = 0;
    for (const Client* c : candidates) {
      bool in_any = false;
      for (const auto& [ws, we, p] : windows) {
        for (int64_t t : c->fail_times) {
          in_any |= t >= ws - kCampaignBucketS && t < we + kCampaignBucketS;
        }
      }
      if (in_any) continue;
      n_outside += 1;
      out_repeat += c->fails >= 2;
    }
    std::set<const Client*> named;
    for (const auto& [ws, we, run_p] : windows) {
      std::vector<const Client*> inside;
      for (const Client* c : candidates) {
        if (named.count(c)) continue;
        bool in = false;
        for (int64_t t : c->fail_times)
          in |= t >= ws - kCampaignBucketS && t < we + kCampaignBucketS;
        if (in) inside.push_back(c);
      }
      if (inside.size() < 2) continue;
      // Membership: a candidate is named when it shares a /24 with another candidate (by chance
      // about (N-1)/2^24) or submitted a login as its first request (no page loaded first, as a
      // browser must) -- both decisive --, or when a naive-Bayes score of its other traits
      // brings its posterior odds of being a benign failing client below kFamilyAlpha (a person
      // who mistypes once and gives up shows none). Prior odds benign E / (N - E): E = the benign
      // candidates the window holds at the site's normal rate (its hours and the hour either
      // side), N = candidates in it. Likelihood ratios: repeated failures, their share among the
      // window's candidates over their share among the site's own failing clients outside every
      // window (Laplace-smoothed; on a site whose give-ups often fail twice, no evidence); the
      // user agent's share among the other candidates over its share of the site's clients,
      // counted only when more candidates share it than that share explains (Poisson,
      // Bonferroni over the candidates): an agent campaigns rotate through is rare on the site
      // and common in the window.
      std::map<std::string, int> by_net, by_agent;
      double in_repeat = 0;
      for (const Client* c : inside) {
        ++by_net[Prefix24(c->ip)];
        ++by_agent[c->user_agent];
        in_repeat += c->fails >= 2;
      }
      const double n_inside = static_cast<double>(inside.size());
      const double agent_alpha = kFamilyAlpha / n_inside;
      const double expected_benign = normal * static_cast<double>((we - ws) / kCampaignBucketS + 2);
      const double prior_odds_benign = expected_benign / std::max(n_inside - expected_benign, 1.0);
      const double repeat_lr = in_repeat / n_inside / ((out_repeat + 1) / (n_outside + 2));
      std::vector<std::pair<const Client*, std::string>> members;
      for (const Client* c : inside) {
        const int net_peers = by_net[Prefix24(c->ip)] - 1;
        const int agent_peers = by_agent[c->user_agent] - 1;
        const double agent_site_share =
            std::max<double>(1, AgentClients(c->user_agent)) / site_clients;
        const double agent_expected = (n_inside - 1) * std::min(1.0, agent_site_share);
        std::string why;
        double lr = 1;
        auto trait = [&why](const std::string& text) { why += (why.empty() ? "" : ", ") + text; };
        if (c->fails >= 2) {
          lr *= repeat_lr;
          trait(std::to_string(c->fails) + " failures (x" + Fmt(repeat_lr) + ")");
        }
        if (c->blind_submit) trait("a login submitted before any page");
        if (agent_peers > 0 && PoissonTail(agent_peers, agent_expected) < agent_alpha) {
          const double agent_lr =
              static_cast<double>(agent_peers) / (n_inside - 1) / agent_site_share;
          lr *= agent_lr;
          trait("its user agent shared with " + std::to_string(agent_peers) +
                " other candidates (x" + Fmt(agent_lr) + ")");
        }
        const bool likely = lr > 1 && prior_odds_benign / lr < kFamilyAlpha;
        if (likely) why += "; posterior odds benign " + Fmt(prior_odds_benign / lr);
        if (net_peers > 0) {
          why = "its /24 shared with " + std::to_string(net_peers) + " other candidates" +
                (why.empty() ? "" : ", ") + why;
        }
        if (net_peers > 0 || c->blind_submit || likely) members.emplace_back(c, why);
      }
      if (members.size() < 2) continue;
      std::set<std::string> nets, agents;
      double fails = 0;
      for (const auto& [c, why] : members) {
        named.insert(c);
        nets.insert(Prefix24(c->ip));
        agents.insert(c->user_agent);
        fails += c->fails;
      }
      const std::string campaign =
          "campaign " + FormatRfc3339(ws * kNanosPerSecond) + ".." +
          FormatRfc3339(we * kNanosPerSecond) + ": " + std::to_string(members.size()) + " of " +
          std::to_string(inside.size()) + " candidates named, " + std::to_string(nets.size()) +
          " /24s, " + std::to_string(agents.size()) + " user agents, " + Fmt(fails) +
          " failed logins (site normal " + Fmt(normal) + " per hour)";
      for (const auto& [c, why] : members) {
        Finding f;
        f.source_ip = c->ip;
        f.start_s = c->fail_first;
        f.end_s = c->fail_last;
        f.kind = Kind::kCredentialStuffing;
        f.score = ScoreFromP(run_p, bucket_alpha);
        f.evidence = std::to_string(c->fails) + " failed logins in " + campaign +
                     "; member: " + why + "; first: " + c->ev_fail;
        out.push_back(std::move(f));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return a.start_s != b.start_s ? a.start_s < b.start_s : a.source_ip < b.source_ip;
  });
  return out;
}

}  // namespace backsight::security
