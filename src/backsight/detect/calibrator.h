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
  /// At a changepoint alarm that continues a drift (earlier alarms in the same direction shortly
  /// before), the shift accumulated over the drift, in standard deviations; else 0. Ranks
  /// anomalous rows only (AnomalyScore); never changes the likelihood or the decision.
  double drift = 0;
};

/// Maps evidence to a likelihood in [0, 1) with a fixed severity order: a value or level never
/// seen in the whole history (likelihood in [0.99, 1)) ranks above a value outside the recent
/// regime or outside its phase's usual range ([0.9702, 0.98)); 0 when neither applies. Within each
/// class a larger excess ranks higher. The tolerances (2% of the global envelope
/// width, 10% of the local one) are product defaults, not per-series settings. This is what NAB
/// scores (bench/nab); it saturates, so it is not the score shown to people.
double NoveltyLikelihood(const NoveltyEvidence& e);

/// The likelihood at which anomaly_score == 1 (the default decision threshold).
inline constexpr double kLikelihoodAtScoreOne = 0.978;

/// anomaly_score: 0 without evidence, 1 at the default threshold, > 1 anomalous, growing with the
/// evidence in the same order as the likelihood (so anomaly_score > 1 exactly when likelihood >
/// kLikelihoodAtScoreOne, and a higher likelihood never gets a lower score). Piecewise:
///  * at or below the threshold: log(1 - L) / log(1 - kLikelihoodAtScoreOne), L = likelihood
///    (in [0, 1]; unchanged from earlier versions);
///  * local evidence above the threshold (local excess x above x1 = ln(0.0098 / 0.002) = 1.59,
///    where L = kLikelihoodAtScoreOne): 1 + t / (1 + t), t = ln(x / x1), in (1, 2): a 2x larger
///    excess scores 1.41, 10x 1.70. When the row continues a drift, x = max(x, drift);
///  * global evidence (never seen in the history; excess g > 0.02 widths): 2 + ln(g / 0.02), in
///    [2, 2 + ln(5e10)]: each e-fold of the excess adds 1 (a value 1 width beyond everything
///    seen scores 5.9, one 0.1 width beyond 3.6).
/// The likelihood's own tail (1 - L) saturates at 0.02 for local evidence and loses precision for
/// large global excesses; this mapping keeps growing logarithmically in the excess instead.
double AnomalyScore(const NoveltyEvidence& e);

/// AnomalyScore(e) for a caller that already has `likelihood` == NoveltyLikelihood(e) (the
/// detector reports both; this spares computing the likelihood twice). Same result, bit for bit.
double AnomalyScore(const NoveltyEvidence& e, double likelihood);

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_CALIBRATOR_H_
