// Streaming novelty features used by the default detector. Each is O(1) per sample, a few bytes of
// state, and serialisable bit-exactly.
#ifndef BACKSIGHT_DETECT_NOVELTY_H_
#define BACKSIGHT_DETECT_NOVELTY_H_

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "backsight/core/byte_io.h"
#include "backsight/core/saturating.h"
#include "backsight/core/status.h"

namespace backsight::detect {

/// Excess of `f` beyond [lo, hi] in units of the width hi - lo (0 inside, capped at `max_excess`;
/// `max_excess` when the width is 0 and f != hi). Differences are taken of halves (exact
/// power-of-two scaling, so the ratio is bit-identical to the unscaled one) so they cannot
/// overflow.
inline double EnvelopeExcess(double f, double lo, double hi, double max_excess) {
  const double w = 0.5 * hi - 0.5 * lo;
  const double d = std::max(0.5 * f - 0.5 * hi, 0.5 * lo - 0.5 * f);
  if (w > 0) return std::min(std::max(0.0, d / w), max_excess);
  return f != hi ? max_excess : 0.0;
}

/// Envelope of a feature over the whole history: [lo, hi] of every value seen. A value outside it
/// by more than a tolerance times the envelope width is novel. This is the "spatial anomaly" rule
/// of Numenta's NAB detector (Ahmad et al., Neurocomputing 2017, section 4.3) applied to any
/// feature.
class GlobalEnvelope {
 public:
  /// Returns the excess of `f` beyond the envelope in units of its width (0 inside, capped at
  /// kMaxExcess; kMaxExcess when the envelope has zero width and `f` differs), or 0 while fewer
  /// than `min_n` values were seen; then widens the envelope to include `learn` (pass `f` itself,
  /// or a winsorised `f` so that one extreme value cannot stretch the envelope without bound).
  double Update(double f, double learn, uint32_t min_n);
  double Update(double f, uint32_t min_n) { return Update(f, f, min_n); }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  uint32_t n() const { return n_; }
  /// Largest excess reported, in envelope widths.
  static constexpr double kMaxExcess = 1e9;
  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);

 private:
  double lo_ = 0, hi_ = 0;
  uint32_t n_ = 0;
};

/// Envelope that forgets: its edges relax exponentially (time constant `tau` samples) toward an
/// exponentially weighted centre, so it describes the recent regime rather than all history.
class LocalEnvelope {
 public:
  /// Same contract as GlobalEnvelope::Update, with forgetting rate 1/tau (tau > 1, samples).
  double Update(double f, double learn, double tau, uint32_t min_n);
  double Update(double f, double tau, uint32_t min_n) { return Update(f, f, tau, min_n); }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);

 private:
  double lo_ = 0, hi_ = 0, centre_ = 0;
  uint32_t n_ = 0;
};

/// Mean of the last `kWindow` values (ring buffer; exact running sum is recomputed from the ring
/// every kWindow samples so rounding error cannot accumulate). The ring holds x / 16 (an exact
/// power-of-two scaling) so that the sum of ten values near DBL_MAX cannot overflow.
class RollingMean {
 public:
  static constexpr int kWindow = 10;
  /// Adds `x` and returns the mean of the last min(n, kWindow) values.
  double Add(double x);
  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);

 private:
  std::array<double, kWindow> ring_{};
  int pos_ = 0;
  uint32_t n_ = 0;
  double sum_ = 0;
};

/// Two-sided CUSUM changepoint statistic (E. S. Page, "Continuous inspection schemes",
/// Biometrika 41, 1954). The value is standardised by an exponentially weighted mean and variance
/// (weight `alpha`, updated after scoring); S+ = max(0, S+ + z - k), S- = max(0, S- - z - k).
/// Both sums restart after an alarm; the alarm's shift estimate (see shift()) is kept.
/// The z-score is clamped at +-10. The caller bounds the influence of one sample on the mean and
/// variance by feeding a winsorised value (default_detector.cc); deviations are also clamped at
/// 1e150 so the variance cannot overflow. (Huber-clipping the moment updates at 10 or 30 sd was
/// tried and cost 1-3 NAB points: the variance a spike adds damps the alarms that follow it.)
class Cusum {
 public:
  /// `alpha` in (0, 1): weight of a new sample in the mean/variance; `k`, `h` in standard
  /// deviations: drift allowance and alarm threshold.
  Cusum(double alpha, double k, double h) : alpha_(alpha), k_(k), h_(h) {}
  /// Feeds x (series units; `floor` = smallest meaningful standard deviation, > 0). Accumulates
  /// only when `armed`. Returns max(S+, S-) / h before the restart: > 1 means a changepoint alarm.
  double Update(double x, double floor, bool armed);
  /// Estimated size of the shift behind the latest alarm, in standard deviations: k + S / N, N =
  /// samples since the alarming sum last left zero (Page 1954; Montgomery, "Introduction to
  /// Statistical Quality Control", 9.1). 0 before the first alarm.
  double shift() const { return shift_; }
  /// Direction of the latest alarm: +1 upward shift, -1 downward, 0 before the first alarm.
  int direction() const { return dir_; }
  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);

 private:
  // Deviations that update the moments are clamped here so their squares stay below DBL_MAX.
  static constexpr double kMaxDeviation = 1e150;
  // The z-score fed to the sums is clamped at this many standard deviations.
  static constexpr double kZClamp = 10.0;
  double alpha_, k_, h_;
  double mean_ = 0, var_ = 0, pos_ = 0, neg_ = 0, shift_ = 0;
  uint32_t pos_n_ = 0, neg_n_ = 0;
  uint64_t n_ = 0;
  int8_t dir_ = 0;
};

// Per-sample methods, inline so the detector's Update keeps its values in registers across them.

inline double GlobalEnvelope::Update(double f, double learn, uint32_t min_n) {
  const double ex = n_ >= min_n ? EnvelopeExcess(f, lo_, hi_, kMaxExcess) : 0.0;
  if (n_ == 0) lo_ = hi_ = learn;
  lo_ = std::min(lo_, learn);
  hi_ = std::max(hi_, learn);
  if (n_ < UINT32_MAX) ++n_;
  return ex;
}

inline double LocalEnvelope::Update(double f, double learn, double tau, uint32_t min_n) {
  if (n_ == 0) lo_ = hi_ = centre_ = learn;
  const double ex = n_ >= min_n ? EnvelopeExcess(f, lo_, hi_, GlobalEnvelope::kMaxExcess) : 0.0;
  if (n_ < UINT32_MAX) ++n_;
  const double lam = 1.0 / tau;
  centre_ += lam * SaturatingDiff(learn, centre_);
  lo_ = std::min(lo_ + lam * SaturatingDiff(centre_, lo_), learn);
  hi_ = std::max(hi_ - lam * SaturatingDiff(hi_, centre_), learn);
  return ex;
}

inline double RollingMean::Add(double x) {
  constexpr double kScale = 1.0 / 16;  // exact; keeps the sum of kWindow values finite
  x *= kScale;
  sum_ += x - ring_[pos_];
  ring_[pos_] = x;
  if (++pos_ == kWindow) pos_ = 0;
  if (n_ < UINT32_MAX) ++n_;
  if (pos_ == 0) {  // re-sum exactly once per cycle
    double s = 0;
    for (double v : ring_) s += v;
    sum_ = s;
  }
  return sum_ / std::min<uint32_t>(n_, kWindow) / kScale;
}

inline double Cusum::Update(double x, double floor, bool armed) {
  if (n_ == 0) mean_ = x;
  const double sd = std::max(std::sqrt(var_), floor);
  const double z = std::clamp(SaturatingDiff(x, mean_) / sd, -kZClamp, kZClamp);
  if (armed) {
    pos_ = std::max(0.0, pos_ + z - k_);
    neg_ = std::max(0.0, neg_ - z - k_);
    pos_n_ = pos_ > 0 ? pos_n_ + 1 : 0;
    neg_n_ = neg_ > 0 ? neg_n_ + 1 : 0;
  }
  const double stat = std::max(pos_, neg_) / h_;
  if (stat > 1) {
    // Page's estimate of the shift: k + S / (samples since the sum last left zero).
    const bool up = pos_ >= neg_;
    dir_ = up ? 1 : -1;
    shift_ =
        up ? k_ + pos_ / std::max<uint32_t>(pos_n_, 1) : k_ + neg_ / std::max<uint32_t>(neg_n_, 1);
    pos_ = neg_ = 0;
    pos_n_ = neg_n_ = 0;
  }
  ++n_;
  const double a = std::max(alpha_, 1.0 / static_cast<double>(n_));
  const double d = std::clamp(SaturatingDiff(x, mean_), -kMaxDeviation, kMaxDeviation);
  mean_ += a * d;
  var_ = (1 - a) * (var_ + a * d * d);
  return stat;
}

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_NOVELTY_H_
