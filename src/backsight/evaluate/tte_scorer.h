// Scorer of the time-to-exhaustion (TTE) benchmark, re-implemented from the protocol in
// ../shared/data/tte/README.md (reference: shared/tools/tte_score_ref.py, which it matches).
//
// At each evaluation point t = eval_start + k * eval_step <= eval_end (and t < exhaust_ts), with
// T = exhaust_ts - t (inf when none) and P the prediction (inf when none; negative = 0):
//   warning = P < 24 h; correct warning = a warning with T <= 36 h.
//   acc_20pct_48h: fraction of the points with T <= 48 h where |P - T| <= 0.2 T.
//   lead: per in_window series, exhaust_ts - first correct warning (0 h when none), averaged.
//   false warnings: warning episodes (runs of consecutive warning points) on `never` series,
//   per 1,000 evaluated series-days; premature: episodes with 36 h < T < inf on exhausting ones.
#ifndef BACKSIGHT_EVALUATE_TTE_SCORER_H_
#define BACKSIGHT_EVALUATE_TTE_SCORER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::evaluate {

/// One row of the benchmark's labels.csv (the columns the scorer and a predictor may use; a
/// predictor may read only `limit`, `step_s` and the evaluation grid).
struct TteLabel {
  std::string series_id;
  std::string scenario;       ///< for per-scenario reports only
  std::string exhaust_class;  ///< in_window, late or never
  double limit = 0;
  int64_t step_s = 0;
  int64_t eval_start_ts = 0;  ///< Unix seconds
  int64_t eval_end_ts = 0;
  int64_t eval_step_s = 0;
  std::optional<int64_t> exhaust_ts;  ///< Unix seconds; none = never within the cap

  /// The evaluation grid (Unix seconds): eval_start + k * eval_step <= eval_end. What a
  /// predictor may use.
  std::vector<int64_t> GridPoints() const;
  /// The scored points: the grid stopping before exhaust_ts (a prefix of GridPoints).
  std::vector<int64_t> EvalPoints() const;
};

/// Parses labels.csv text (header with at least the columns above). InvalidArgument naming the
/// line on a missing column or a bad number.
Status ParseTteLabels(std::string_view csv_text, std::vector<TteLabel>* out);

/// The protocol's measures (names as in tte_score_ref.py; nullopt where it prints None).
struct TteScore {
  int64_t points = 0;
  int64_t acc_points = 0;
  std::optional<double> acc_20pct_48h;
  int64_t in_window_series = 0;
  std::optional<double> detected;
  std::optional<double> lead_mean_h;
  std::optional<double> lead_median_detected_h;
  double never_series_days = 0;
  std::optional<double> false_warn_per_1000_series_days;
  std::optional<double> false_warn_hours_per_1000_series_days;
  std::optional<double> premature_warn_per_1000_series_days;
};

/// Scores predictions: `predictions[i][k]` is P (seconds, +inf = none) for labels[i] at its
/// k-th grid point (GridPoints order; only the EvalPoints prefix is scored; a short vector
/// counts the rest as none). Only labels
/// whose scenario equals `scenario` are scored when it is not empty.
TteScore ScoreTte(const std::vector<TteLabel>& labels,
                  const std::vector<std::vector<double>>& predictions,
                  std::string_view scenario = {});

}  // namespace backsight::evaluate

#endif  // BACKSIGHT_EVALUATE_TTE_SCORER_H_
