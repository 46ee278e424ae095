// Calibration: turns the model's raw novelty evidence into one interpretable scale.
#ifndef BACKSIGHT_DETECT_CALIBRATOR_H_
#define BACKSIGHT_DETECT_CALIBRATOR_H_

namespace backsight::detect {

/// Raw evidence produced by the default detector's model for one sample. All fields are
/// scale-free (independent of the series' units).
struct NoveltyEvidence {
  /// Excess beyond the whole-history envelope of the value or of its 10-sample rolling mean, in
  /// envelope widths (0 = inside).
  double global_excess = 0;
  /// Excess beyond the recent-regime (forgetting) envelope of the value, or beyond the envelope
  /// of values seen at the same phase of a strong period, in envelope widths; or, at a CUSUM
  /// changepoint alarm, the estimated shift size in standard deviations.
  double local_excess = 0;
};

/// Maps evidence to a likelihood in [0, 1) with a fixed severity order: a value or level never
/// seen in the whole history (likelihood in [0.99, 1)) ranks above a value outside the recent
/// regime or outside its phase's usual range ([0.9702, 0.98)); 0 when neither applies. Within each
/// class a larger excess ranks higher. The tolerances (2% of the global envelope
/// width, 10% of the local one) are product defaults, not per-series settings.
double NoveltyLikelihood(const NoveltyEvidence& e);

/// The likelihood at which anomaly_score == 1 (the default decision threshold).
inline constexpr double kLikelihoodAtScoreOne = 0.978;

/// anomaly_score = log(1 - likelihood) / log(1 - kLikelihoodAtScoreOne): 0 for likelihood 0,
/// 1 at the default threshold, growing without bound as likelihood approaches 1 (capped at 20).
double AnomalyScoreFromLikelihood(double likelihood);

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_CALIBRATOR_H_
