// `backsight security`: attackers in access and auth logs, per source address. Each client's
// behaviour is judged against this site's own population of clients (population.h) and what its
// requests reveal to the OWASP CRS (request_inspector.h); no per-rule thresholds.
#ifndef BACKSIGHT_SECURITY_ANALYZER_H_
#define BACKSIGHT_SECURITY_ANALYZER_H_

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/security/auth_log.h"
#include "backsight/security/population.h"
#include "backsight/security/request_inspector.h"

namespace backsight::security {

/// The kinds of attacking client (issue 14).
enum class Kind { kBruteForce, kCredentialStuffing, kScanner, kInjectionProbe, kAbusiveClient };
/// "brute_force", "credential_stuffing", "scanner", "injection_probe", "abusive_client".
const char* KindName(Kind kind);

/// One attacking client: its address, the time its attack was seen (epoch seconds), the kind,
/// a score (>= 1; how far past the site's fence, in fence units) and evidence text (the figures
/// compared and an example line).
struct Finding {
  std::string source_ip;
  int64_t start_s = 0;
  int64_t end_s = 0;
  Kind kind = Kind::kScanner;
  double score = 0;
  std::string evidence;
};

/// Limits of the per-client state.
struct AnalyzerOptions {
  /// Live client states; beyond it the least recently seen client is closed (LRU).
  size_t max_clients = 1 << 16;
  /// A client silent this long is closed (one day: slow brute force stays one client).
  int64_t idle_close_s = 86400;
  /// Values kept per population feature (reservoir sample).
  size_t reservoir = 8192;
};

/// Counters (the memory bound is visible: live states, closed summaries, evictions).
struct AnalyzerStats {
  uint64_t requests = 0;
  uint64_t auth_events = 0;
  uint64_t clients = 0;          // client states opened
  uint64_t closed_idle = 0;      // closed after idle_close_s
  uint64_t closed_capacity = 0;  // closed by the LRU bound
  uint64_t summaries = 0;        // closed clients kept for judging (they carried a signal)
};

/// Feeds requests and auth events line by line (in time order, as logs are) and judges every
/// client at Finish. Not thread-safe.
class SecurityAnalyzer {
 public:
  /// `inspector` may be null (no CRS verdicts, scanner-UA and restricted-file lists off).
  SecurityAnalyzer(AnalyzerOptions options, RequestInspector* inspector);
  ~SecurityAnalyzer();

  /// One access-log request; `line` is kept (truncated) as evidence when it is the first of its
  /// signal. Records without a client address are ignored; without a time, the last time seen.
  void AddRequest(const api::AccessRecord& r, std::string_view line);
  /// One sshd login attempt (failed attempts count as failed logins).
  void AddAuth(const AuthEvent& e, std::string_view line);
  /// Closes every client, computes the site's fences and returns the findings (one per client
  /// and kind), ordered by start time then address.
  std::vector<Finding> Finish();
  /// The findings so far without closing anyone (live clients judged as they are now): for a
  /// long-running service. Same order as Finish.
  std::vector<Finding> Judge() const;

  const AnalyzerStats& stats() const { return stats_; }
  /// The newest log time seen (Unix seconds; 0 before the first timed line).
  int64_t last_time() const { return last_time_; }

 private:
  struct Client;
  Client* Touch(std::string_view ip, int64_t t);
  void Close(Client* c);
  void EvictIdle(int64_t now);
  static void AddToPopulation(const Client& c, Reservoir* fails, Reservoir* missing,
                              Reservoir* peak, Reservoir* active, uint64_t* isolated);
  static bool HasSignal(const Client& c);
  static uint64_t AgentKey(std::string_view user_agent);
  /// Clients whose first request carried `user_agent`.
  uint32_t AgentClients(std::string_view user_agent) const;

  AnalyzerOptions options_;
  RequestInspector* inspector_;
  std::list<Client> lru_;  // front = most recently seen
  // Looked up by string_view without a copy (transparent hash, C++20).
  struct ViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::list<Client>::iterator, ViewHash, std::equal_to<>> index_;
  std::vector<Client> closed_;  // clients with a signal, judged at Finish
  Reservoir fails_, missing_, peak_, active_;
  uint64_t total_requests_ = 0;
  uint64_t isolated_crs_hits_ = 0;                        // CRS hits of clients with at most one
  std::unordered_map<uint64_t, uint32_t> agent_clients_;  // user agent hash -> clients
  uint64_t login_redirects_ = 0;  // login submissions answered 3xx (a form login site)
  int64_t last_time_ = 0;
  AnalyzerStats stats_;
  CrsVerdict verdict_;
};

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_ANALYZER_H_
