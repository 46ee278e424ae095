// Time-to-exhaustion of live series: rules that pair a usage series with its capacity (another
// series joined by labels, or a constant), and a tracker that runs one TteEstimator per usage
// series (forecast/tte.h).
//
// Pairing: a usage sample of rule R with labels U (`__name__` = R.usage_metric) finds its
// capacity in the latest sample of the series named R.capacity_metric whose labels agree with U
// on R.on (all labels but `__name__` when R.on is empty, which is how node-exporter and cAdvisor
// label a metric and its limit). Usage samples that arrive before any capacity are skipped and
// counted; a capacity <= 0 (cAdvisor's "no memory limit") means unlimited and skips the sample.
// With `usage_is_free` the usage series counts what is left (node_filesystem_avail_bytes), and
// the estimator is fed used = capacity - free.
#ifndef BACKSIGHT_FORECAST_EXHAUSTION_H_
#define BACKSIGHT_FORECAST_EXHAUSTION_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/forecast/tte.h"

namespace backsight::forecast {

/// One pairing of a usage metric with its capacity.
struct ExhaustionRule {
  std::string usage_metric;     ///< `__name__` of the usage (or free) series
  std::string capacity_metric;  ///< `__name__` of the capacity series; "" = use `limit`
  double limit = 0;             ///< constant capacity when capacity_metric is ""
  bool usage_is_free = false;   ///< the usage series counts free capacity (used = capacity - it)
  std::vector<std::string> on;  ///< join labels; empty = all labels but `__name__`
};

/// The built-in rules: node-exporter filesystems (node_filesystem_avail_bytes, free space, over
/// node_filesystem_size_bytes), cAdvisor container memory (container_memory_working_set_bytes
/// over container_spec_memory_limit_bytes), and connection pools: HikariCP through Micrometer
/// (hikaricp_connections_active / hikaricp_connections_max), Go database/sql through
/// prometheus' sqlstats collector (go_sql_stats_connections_in_use /
/// go_sql_stats_connections_max_open) and the generic db_pool_connections_in_use /
/// db_pool_connections_max.
std::vector<ExhaustionRule> DefaultExhaustionRules();

/// Checks a rule: usage metric set, a capacity metric or a positive finite limit, not both.
Status ValidateExhaustionRule(const ExhaustionRule& rule);

/// One usage series' prediction.
struct ExhaustionStatus {
  Labels labels;         ///< the usage series' labels (sorted, `__name__` included)
  double limit = 0;      ///< capacity in force
  double used = 0;       ///< last used value fed to the estimator
  TimestampNs ts = 0;    ///< last sample's timestamp
  TteEstimate estimate;  ///< at `ts`
};

/// Counters of the tracker.
struct ExhaustionStats {
  uint64_t series = 0;               ///< usage series tracked (gauge)
  uint64_t samples = 0;              ///< usage samples fed to an estimator
  uint64_t samples_no_capacity = 0;  ///< usage samples skipped: no (positive) capacity yet
  uint64_t series_refused = 0;       ///< new usage series refused past max_series
};

/// Runs the rules over incoming series. Thread-safe (one mutex; only series whose name is a
/// rule's usage or capacity metric take it).
class ExhaustionTracker {
 public:
  /// `max_series` caps the usage series tracked (each holds ~1 KiB of estimator state).
  ExhaustionTracker(std::vector<ExhaustionRule> rules, size_t max_series);

  /// Feeds one decoded series (labels sorted, samples in time order); others are ignored.
  void Observe(const TimeSeries& series);

  /// Whether `name` is the usage metric of a rule (its series get an estimator).
  bool IsUsageMetric(std::string_view name) const;
  /// Whether the usage series with this label Fingerprint has an estimator.
  bool Tracks(uint64_t fingerprint) const;
  /// Whether `max_series` usage series are tracked, so a new one would be refused.
  bool Full() const;

  /// Every tracked series with its current prediction (the estimate at its last sample).
  std::vector<ExhaustionStatus> Snapshot() const;

  ExhaustionStats stats() const;

  /// Appends every tracked series (labels, limit, last used value and time, estimator state)
  /// and the latest capacities: magic "BEX1", u32 version 1, then varint counts and records
  /// (docs/formats.md). Bit-exact: a restored tracker predicts what this one would.
  void SaveState(std::string* out) const;
  /// Replaces the tracked series and capacities with a saved state. Corruption on bad bytes
  /// (the tracker is then left unchanged).
  Status RestoreState(std::string_view in);

 private:
  struct Tracked {
    Labels labels;
    TteEstimator estimator{1};
    double limit = 0;
    double used = 0;
    TimestampNs ts = 0;
  };
  // Join key of `labels` for rule `r`: the `on` labels (or all but __name__), rendered.
  std::string JoinKey(const ExhaustionRule& r, const Labels& labels) const;

  const std::vector<ExhaustionRule> rules_;
  const size_t max_series_;
  mutable std::mutex mu_;
  // Latest capacity per (rule index, join key).
  std::unordered_map<std::string, double> capacity_;
  std::unordered_map<uint64_t, Tracked> tracked_;  // by usage series fingerprint
  ExhaustionStats stats_;
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_EXHAUSTION_H_
