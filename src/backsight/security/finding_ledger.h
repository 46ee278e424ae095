// What `backsight serve` has already done with its security findings (issue 14): the findings it
// has served, the (address, kind) pairs it has alerted and forwarded to incidents. Kept in
// <state_dir>/security.state (docs/formats.md) so a restart neither loses a finding nor sends it
// again when the log write-ahead log replay re-judges it.
#ifndef BACKSIGHT_SECURITY_FINDING_LEDGER_H_
#define BACKSIGHT_SECURITY_FINDING_LEDGER_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/security/analyzer.h"

namespace backsight::security {

/// Bounded bookkeeping of findings, each set holding at most `capacity` keys "ip kind" (the
/// oldest first-seen key is dropped past it and counted in dropped()). A finding whose last
/// evidence (Finding::end_s, log time) is more than `retention_s` before the `now_s` given to
/// Merge expires: it is no longer returned nor saved, and its sent and forwarded keys are dropped
/// too, so the address coming back with new evidence is a new finding (alerted and forwarded
/// again). Not thread-safe.
class FindingLedger {
 public:
  /// How long a finding is served after its last evidence by default (logs.security_retention):
  /// one day, the analyzer's own idle close (AnalyzerOptions::idle_close_s).
  static constexpr int64_t kDefaultRetentionS = 86400;

  /// The analyzer's own bound on live clients (AnalyzerOptions::max_clients, 65,536) by default.
  explicit FindingLedger(size_t capacity = AnalyzerOptions().max_clients,
                         int64_t retention_s = kDefaultRetentionS);

  /// Seconds a finding is kept after its end time (> 0).
  void set_retention(int64_t retention_s) { retention_s_ = retention_s; }

  /// "ip kind", the key a finding is alerted and forwarded under.
  static std::string Key(const Finding& f);

  /// Records that `f` was alerted; false when it already was.
  bool MarkSent(const Finding& f) { return sent_.Insert(Key(f), &dropped_); }
  /// Records that `f` was forwarded to the incident service; false when it already was.
  bool MarkForwarded(const Finding& f) { return forwarded_.Insert(Key(f), &dropped_); }

  /// Remembers the findings judged now (a key seen before takes the new values) and returns them
  /// followed by the remembered findings that are not among them (those judged before a restart
  /// whose log lines are gone), oldest first. `now_s` is the current log time in Unix seconds
  /// (the newest line seen); findings, live or kept, that ended more than the retention before
  /// it are dropped (see the class comment). The clock never goes back: a smaller `now_s` (0
  /// before any line after a restart) expires nothing new.
  std::vector<Finding> Merge(const std::vector<Finding>& live, int64_t now_s = 0);

  /// True when a key was added or expired since the last Encode (the saved state is behind).
  bool changed() const { return changed_; }
  /// Keys dropped past the capacity, over all three sets, since start.
  uint64_t dropped() const { return dropped_; }
  /// Findings dropped past the retention since start.
  uint64_t expired() const { return expired_; }
  size_t findings() const { return findings_.size(); }

  /// Appends the state: magic "BSSF", u32 version 1, then the sent keys, the forwarded keys and
  /// the findings (docs/formats.md). Clears changed().
  void Encode(std::string* out);
  /// Replaces the state with one written by Encode; Corruption naming the field on a bad one
  /// (the state is then unchanged).
  Status Decode(std::string_view data);

 private:
  // Insertion-ordered set of at most `capacity` keys.
  struct Keys {
    std::deque<std::string> order;
    std::unordered_set<std::string> set;
    size_t capacity = 0;
    bool* changed = nullptr;
    bool Insert(const std::string& key, uint64_t* dropped);
    // Removes `keys` (one pass over `order` when one of them is present).
    void Erase(const std::unordered_set<std::string>& keys);
  };
  size_t capacity_;
  int64_t retention_s_;
  int64_t clock_s_ = 0;  // the largest now_s given to Merge
  bool changed_ = false;
  uint64_t dropped_ = 0;
  uint64_t expired_ = 0;
  Keys sent_, forwarded_;
  std::deque<std::string> finding_order_;  // keys of findings_, first seen first
  std::unordered_map<std::string, Finding> findings_;
};

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_FINDING_LEDGER_H_
