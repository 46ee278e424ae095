// What one request reveals by itself, judged by a maintained rule set: the OWASP Core Rule Set
// (CRS 3.3, Debian `modsecurity-crs`) run by ModSecurity v3 (`libmodsecurity`), plus CRS's own
// lists of security-scanner user agents (rule 913100) and restricted files (rule 930130).
#ifndef BACKSIGHT_SECURITY_REQUEST_INSPECTOR_H_
#define BACKSIGHT_SECURITY_REQUEST_INSPECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::security {

class PhraseSet;

/// Where the rule set lives (Debian 12 paths of `modsecurity-crs`).
struct InspectorOptions {
  std::string crs_setup = "/etc/modsecurity/crs/crs-setup.conf";
  std::string crs_rules_dir = "/usr/share/modsecurity-crs/rules";
  /// CRS paranoia level (1..4). 2, not CRS's default 1: PL1 misses command injection such as
  /// "|id" and PHP wrappers; the false positives PL2 adds are single hits on ordinary clients,
  /// which the per-client Poisson test absorbs (websec visible: no benign client named at 1 or 2).
  int paranoia_level = 2;
  /// false: no ModSecurity (only the CRS data lists); injection_probe then never fires.
  bool modsecurity = true;
  /// false: every request goes to ModSecurity (to measure the pre-filter's recall and cost).
  bool prefilter = true;
};

/// Counters of the inspector (for the benchmark and the CLI summary).
struct InspectorStats {
  uint64_t requests = 0;      // Inspect calls
  uint64_t inspected = 0;     // passed the pre-filter and went to ModSecurity
  uint64_t hits = 0;          // ModSecurity/CRS reached its blocking threshold
  double modsec_seconds = 0;  // CPU time of the calling thread spent inside ModSecurity
};

/// What CRS said about one request (filled by RequestInspector::Inspect).
struct CrsVerdict {
  /// CRS's inbound anomaly score reached its blocking threshold (5 at CRS's defaults).
  bool blocked = false;
  /// Sum of the severity points of the attack rules (930..944) that matched, with CRS's points
  /// (crs-setup.conf: critical 5, error 4, warning 3, notice 2).
  int attack_score = 0;
  /// The same sum over the attack rules of paranoia level 1 only (tagged "paranoia-level/1" in
  /// the rule files: the rules CRS runs on every site, with the fewest false positives).
  int attack_score_pl1 = 0;
  /// Attack rules that matched, the first kMaxRulesInWhy of them as "id message", "; "-joined
  /// (e.g. "942100 SQL Injection Attack Detected via libinjection"); empty when not blocked.
  std::string why;
};

/// Judges requests. Not thread-safe (one ModSecurity rule set, used by one caller at a time).
class RequestInspector {
 public:
  /// Loads the CRS data lists and, with options.modsecurity, the CRS request rules (REQUEST-*.conf)
  /// into ModSecurity with SecRuleEngine On. IoError when a file is missing, InvalidArgument
  /// with ModSecurity's parser error when the rules do not load.
  static Status Create(const InspectorOptions& options, std::unique_ptr<RequestInspector>* out);
  ~RequestInspector();

  /// True when `user_agent` contains an entry of CRS scanners-user-agents.data (case-insensitive
  /// substring, as @pmFromFile matches).
  bool IsScannerAgent(std::string_view user_agent) const;
  /// True when `path` contains an entry of CRS restricted-files.data (case-insensitive).
  bool IsRestrictedFile(std::string_view path) const;
  /// True when the pre-filter lets the request through: its target (path + query, %XX and '+'
  /// decoded) holds a byte or sequence the CRS attack families need: a quote, angle bracket,
  /// brace, '|', '`', '$', '\', NUL, "..", "--", "/*", a call "name(", or a ';' that does not
  /// separate parameters; an OS file of CRS lfi-os-files.data (rule 930120); in the query, a SQL
  /// word (union, select, or, and, sleep, benchmark, waitfor) or a URL scheme "://" (PHP
  /// wrappers, remote file inclusion).
  bool Suspicious(std::string_view path, std::string_view query) const;
  /// Runs the request through the pre-filter and ModSecurity into *verdict. Returns
  /// verdict->blocked (CRS's inbound anomaly score reached its blocking threshold).
  bool Inspect(std::string_view method, std::string_view path, std::string_view query,
               std::string_view user_agent, CrsVerdict* verdict);

  const InspectorStats& stats() const { return stats_; }

 private:
  RequestInspector();
  struct ModSec;
  std::unique_ptr<ModSec> modsec_;
  InspectorOptions options_;
  std::unique_ptr<PhraseSet> scanner_agents_;    // CRS scanners-user-agents.data
  std::unique_ptr<PhraseSet> restricted_files_;  // CRS restricted-files.data
  std::unique_ptr<PhraseSet> os_files_;          // CRS lfi-os-files.data
  std::unique_ptr<PhraseSet> sql_words_;         // pre-filter words (Suspicious)
  std::unordered_set<int> pl1_rules_;            // CRS attack rules of paranoia level 1
  InspectorStats stats_;
};

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_REQUEST_INSPECTOR_H_
