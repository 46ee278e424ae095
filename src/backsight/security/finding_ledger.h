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
/// oldest first-seen key is dropped past it and counted in dropped()). Not thread-safe.
class FindingLedger {
 public:
  /// The analyzer's own bound on live clients (AnalyzerOptions::max_clients, 65,536) by default.
  explicit FindingLedger(size_t capacity = AnalyzerOptions().max_clients);

  /// "ip kind", the key a finding is alerted and forwarded under.
  static std::string Key(const Finding& f);

  /// Records that `f` was alerted; false when it already was.
  bool MarkSent(const Finding& f) { return sent_.Insert(Key(f), &dropped_); }
  /// Records that `f` was forwarded to the incident service; false when it already was.
  bool MarkForwarded(const Finding& f) { return forwarded_.Insert(Key(f), &dropped_); }

  /// Remembers the findings judged now (a key seen before takes the new values) and returns them
  /// followed by the remembered findings that are not among them (those judged before a restart
  /// whose log lines are gone), oldest first.
  std::vector<Finding> Merge(const std::vector<Finding>& live);

  /// True when a key was added since the last Encode (the saved state is behind).
  bool changed() const { return changed_; }
  /// Keys dropped past the capacity, over all three sets, since start.
  uint64_t dropped() const { return dropped_; }
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
  };
  size_t capacity_;
  bool changed_ = false;
  uint64_t dropped_ = 0;
  Keys sent_, forwarded_;
  std::deque<std::string> finding_order_;  // keys of findings_, first seen first
  std::unordered_map<std::string, Finding> findings_;
};

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_FINDING_LEDGER_H_
