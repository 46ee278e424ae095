// Streaming anomaly scores for mined log templates.
//
// For every line (after its template is known) the scorer returns a score per signal and their
// maximum; a score > 1 means anomalous (the vmanomaly convention used across Backsight):
//   new   - the template first appeared after the warm-up, within the last `novelty_window_ns`:
//           2 / sqrt(count), so its first three lines are anomalous (2, 1.41, 1.15) and later
//           ones fade below 1 (the template itself stays reported as new; a new template that
//           stays uncommon keeps its rare score).
//   rare  - log(1/p) / log(1/rare_fraction), p = the template's share of all lines so far
//           (> 1 when rarer than rare_fraction), after the warm-up.
//   rate  - the template's count in the current time bucket against its own normal: an
//           exponentially weighted mean m and variance v of its count per bucket; score =
//           -log10 P(X >= count/d | m/d) / 3 under a quasi-Poisson model with dispersion
//           d = max(1, v/m) (> 1 when the surge has p < 0.001), once the template has
//           `rate_warmup_buckets` buckets of history and at least `min_surge_count` lines in the
//           bucket.
//   level - for error/warning lines: the largest of (1) the same Poisson surge score for the count
//           of error/warning-level lines per time bucket (all templates together) and (2) a
//           binomial surge score over the last `level_window_lines` lines, -log10 P(X >= k) / 3
//           with p the long-run (EWMA) share of error/warning lines before that window (Laplace-
//           smoothed), once 2 x level_window_lines lines have passed (not the template
//           warm-up, so an early burst counts). (2) needs no timestamps, so it also works on
//           sampled or time-less logs.
// Template-level rate anomalies use the metric detectors too: when a bucket closes, each
// template's count in it is fed to its own detect::MakeDefaultDetector() series, and buckets whose
// anomaly_score > 1 are reported as TemplateRateEvents. Only buckets in which the template occurs
// are fed (a drop to zero is not seen by this series). The bucket in which the input ends
// (Finish()) is partial: it is reported only as a surge (count above the detector's expected
// count for a whole bucket), never as a collapse.
#ifndef BACKSIGHT_LOGS_LOG_ANOMALY_H_
#define BACKSIGHT_LOGS_LOG_ANOMALY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/detect/detector.h"

namespace backsight::logs {

/// Severity class of a level string: 0 other, 1 warning, 2 error (case-insensitive; WARN,
/// WARNING, W; ERROR, ERR, E, FATAL, F, SEVERE, CRITICAL, CRIT, ALERT, EMERG, PANIC).
int LevelClass(std::string_view level);

/// Options; defaults are the product defaults (no per-log tuning).
struct LogAnomalyOptions {
  int64_t bucket_ns = 60 * kNanosPerSecond;  ///< Time bucket for counts.
  uint64_t warmup_lines = 500;               ///< No new/rare scores before this many lines.
  int64_t novelty_window_ns = 3600 * kNanosPerSecond;  ///< How long a new template stays "new".
  double rare_fraction = 1e-3;                         ///< Share below which a template is rare.
  double ewma_alpha = 0.05;                            ///< Weight of the newest bucket in the rate.
  int rate_warmup_buckets = 10;                        ///< Buckets of history before rate scores.
  uint64_t min_surge_count = 5;      ///< A bucket with fewer lines than this is never a surge.
  uint32_t level_window_lines = 50;  ///< Window of the line-count level surge score (>= 1).
  /// Weight of each line in the long-run error/warning share (EWMA; a cumulative mean until
  /// 1/alpha lines have passed), so a lasting change becomes the new normal.
  double level_share_alpha = 1.0 / 1000;
};

/// Scores of one line.
struct LineScores {
  double new_score = 0, rare_score = 0, rate_score = 0, level_score = 0;
  double score = 0;         ///< Maximum of the four.
  bool is_anomaly = false;  ///< score > 1.
  const char* reason = "";  ///< Name of the largest signal ("new", "rare", "rate", "level").
};

/// A closed bucket in which a template's count was anomalous for its metric detector
/// (template_id 0: the count of error/warning-level lines).
struct TemplateRateEvent {
  uint32_t template_id = 0;
  TimestampNs bucket_start_ns = 0;
  uint64_t count = 0;
  double anomaly_score = 0;
};

/// Per-template statistics kept by the scorer.
struct TemplateActivity {
  TimestampNs first_seen_ns = 0;
  uint64_t count = 0;
  int64_t last_bucket = 0;    ///< Index of the bucket of the latest line.
  uint64_t bucket_count = 0;  ///< Lines in that bucket.
  double rate = 0;            ///< EWMA of lines per bucket, up to last_bucket - 1.
  double var = 0;             ///< EWMA variance of lines per bucket.
  int buckets_seen = 0;       ///< Buckets of history folded into `rate`.
  std::vector<std::pair<int64_t, uint64_t>> recent;  ///< Last buckets (index, count), <= 64.
  bool new_after_warmup = false;                     ///< First seen after the warm-up.
  std::unique_ptr<detect::Detector> detector;
};

/// Streaming scorer. Feed lines in time order (out-of-order timestamps are clamped to the latest
/// seen). Not thread-safe.
class LogAnomalyScorer {
 public:
  explicit LogAnomalyScorer(const LogAnomalyOptions& options = {});

  /// Scores one line of template `template_id` at `ts` with level class `level_class`
  /// (LevelClass()).
  LineScores Observe(TimestampNs ts, uint32_t template_id, int level_class);

  /// Closes every open bucket (call at end of input) so their rate events are reported; the
  /// bucket cut by the end of input is scored as partial (see the file comment).
  void Finish();

  /// Drops a template's statistics (call when the miner evicts it, to keep memory bounded).
  void Forget(uint32_t template_id);

  /// Rate events reported so far (template-level anomalies).
  const std::vector<TemplateRateEvent>& rate_events() const { return events_; }
  /// Activity of a template, or nullptr.
  const TemplateActivity* Activity(uint32_t template_id) const;
  uint64_t lines() const { return lines_; }
  const LogAnomalyOptions& options() const { return options_; }

  /// Appends the complete state (options, per-template statistics with their detectors' states,
  /// the level window and the rate events so far) to `*out`. The per-template table is written in
  /// its iteration order with its bucket count, so a restored scorer closes buckets in Finish()
  /// in the same order and reports the same events in the same order.
  void SaveState(std::string* out) const;
  /// Replaces the state by one produced by SaveState. Returns Corruption naming the byte offset
  /// and field on truncated, foreign or inconsistent bytes; then the scorer is unchanged.
  Status RestoreState(std::string_view in);

 private:
  // Folds a->last_bucket into the rate and its detector; `partial`: the input ended inside it.
  void CloseBucket(uint32_t id, TemplateActivity* a, int64_t now_bucket, bool partial = false);
  static double PoissonSurgeScore(uint64_t k, double lambda);
  static double QuasiPoissonSurgeScore(uint64_t k, double mean, double var);
  static double BinomialSurgeScore(uint64_t k, uint64_t n, double p);

  LogAnomalyOptions options_;
  uint64_t lines_ = 0;
  TimestampNs last_ts_ = 0;
  bool have_ts_ = false;
  std::unordered_map<uint32_t, TemplateActivity> templates_;
  // Error/warning-level lines per bucket, same EWMA model.
  TemplateActivity level_;
  std::vector<uint8_t> level_window_;  // ring of the last level_window_lines level flags
  size_t level_window_pos_ = 0;
  uint64_t level_window_errors_ = 0;
  double level_share_ = 0;  // long-run share of error/warning lines before the window
  std::vector<TemplateRateEvent> events_;
};

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_LOG_ANOMALY_H_
