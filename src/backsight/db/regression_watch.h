// RegressionWatch: per-fingerprint series from successive statistics snapshots, and the rule that
// names a statement whose mean execution time per call regressed, judged on the latest interval
// alone (so a regression is named at the first snapshot after it, at the latest the second).
#ifndef BACKSIGHT_DB_REGRESSION_WATCH_H_
#define BACKSIGHT_DB_REGRESSION_WATCH_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "backsight/core/time.h"
#include "backsight/db/stat_snapshot.h"

namespace backsight::db {

/// One fingerprint over one interval between two snapshots (only intervals with calls).
struct StatementSample {
  uint64_t fingerprint = 0;
  TimestampNs at = 0;  // the later snapshot's time
  double seconds = 0;  // interval length
  double calls = 0;    // calls in the interval
  double calls_per_second = 0;
  double mean_ms = 0;   // execution time per call in the interval, ms
  double total_ms = 0;  // execution time in the interval, ms
  double rows_per_call = 0;
  double blocks_read_per_call = 0;  // shared blocks read per call
};

/// A statement whose mean time per call regressed.
struct Regression {
  uint64_t fingerprint = 0;
  double mean_ms = 0;      // the regressed interval's mean time per call
  double baseline_ms = 0;  // median of the fingerprint's earlier interval means
  double factor = 0;       // mean_ms / baseline_ms
  TimestampNs since = 0;   // start of the first regressed interval (the snapshot before it)
  bool first = false;      // true on the snapshot that opened this regression episode
};

/// Thresholds of the rule; the defaults are the product's (rationale at each constant).
struct RegressionRule {
  /// Calls an interval needs to be judged: the mean of fewer is dominated by one call's cold
  /// cache or unusual parameter (pg_stat_statements aggregates every parameter value).
  double min_calls = 10;
  /// Earlier judged intervals needed for a baseline: one, so that a regression is named at the
  /// second snapshot of a new workload's life (issue 12 asks for "within two snapshots").
  size_t min_history = 1;
  /// Slowdown factor against the baseline median: means of an unchanged plan vary well within
  /// 2x between intervals (cache warmth, concurrency); a lost index costs orders of magnitude.
  double min_factor = 2;
  /// Slowdown in ms per call that is worth naming: below 1 ms a change is in the range of
  /// scheduler and cache effects on a shared host and rarely what an operator is asked about.
  double min_increase_ms = 1;
  /// Robust z over the history (median + k * 1.4826 * MAD, the normal-consistent MAD of
  /// Rousseeuw & Croux 1993): 5 keeps a fingerprint with a noisy history (e.g. parameter-
  /// dependent plans) from alerting on its ordinary swings.
  double mad_multiplier = 5;
  /// Judged intervals kept per fingerprint (about the last half hour at a 1 min interval).
  size_t history = 30;
  /// Consecutive regressed intervals after which the slower mean is the new normal (episode
  /// closed, history restarted), so a deliberate change does not alert forever.
  int accept_after = 10;
};

/// The watch's state: the previous snapshot and each fingerprint's judged interval means.
/// Feed snapshots in time order; O(statements) per snapshot, bounded memory per fingerprint.
class RegressionWatch {
 public:
  explicit RegressionWatch(RegressionRule rule = {}) : rule_(rule) {}

  /// Turns `snap` and the previous snapshot into one sample per fingerprint that ran in
  /// between (appended to *samples) and judges each. Regressed fingerprints (new or ongoing
  /// episodes) are appended to *regressions. A fingerprint whose counters went down (statistics
  /// reset) starts afresh from `snap`; one new since the previous snapshot counts from zero.
  /// The first snapshot only sets the starting point.
  void Observe(const StatSnapshot& snap, std::vector<StatementSample>* samples,
               std::vector<Regression>* regressions);

 private:
  struct State {
    StatementCounters last;
    std::deque<double> history;  // judged, non-regressed interval means (ms)
    int regressed_run = 0;       // consecutive regressed intervals (0: no episode)
    TimestampNs since = 0;
  };
  bool Judge(State* s, const StatementSample& sample, Regression* out) const;

  RegressionRule rule_;
  TimestampNs last_at_ = 0;
  bool started_ = false;
  std::map<uint64_t, State> states_;
};

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_REGRESSION_WATCH_H_
