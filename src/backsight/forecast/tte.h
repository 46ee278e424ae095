// Streaming time-to-exhaustion (TTE): when will a usage series (disk bytes used, memory working
// set, connections in use) reach its capacity limit?
//
// The estimator follows the *peak envelope* of the series, so a sawtooth (log rotation, garbage
// collection, cleanups) or a daily cycle does not look like growth; only a rising envelope does:
//
//   1. Hourly peaks. Samples are reduced to the maximum of each UTC hour (y_h).
//   2. Envelope. e_h = max(y) over the last 24 h (kEnvelopeHours): the peak of every cycle up to a
//      day long (GC, hourly jobs, log rotation every 6/12/24 h, daily traffic), or over the
//      last reset cycle plus 2 h when resets repeat less often (a leak restarted every 30 h).
//      Exhaustion is the first sample at the limit, so the envelope, not the mean, reaches it.
//   3. Rate. The day-over-day growth of the envelope, (e_h - e_{h-24}) / 24 h, summarised by its
//      median over the last 24 h (a robust, Theil-Sen-like slope over a one-day lag, which
//      cancels the daily cycle). Before two days of history exist, the least-squares slope of the
//      envelope is used. Persistence: the growth must also be present in the day before (median
//      at least kPersistFraction of today's) and in the last day alone (e_h - e_{h-24}); a
//      one-off step of the envelope (Monday's traffic after a weekend dip, a dataset loaded once)
//      is a level shift, not a trend, and does not warn.
//   4. Change of rate. When the slope of the last kShortHours is kAccelRatio times the slope before
//      it and the difference is well above the envelope's noise, a change-point is set at its
//      start, and until a day has passed the rate is the least-squares slope since the
//      change-point (a deploy or an accelerating leak is followed within hours).
//   5. Resets. A drop of the hourly peak by kResetDropFraction of the limit or more is a reset.
//      A reset with no other reset in the previous kPeriodicResetHours starts a new regime (the
//      history before it is forgotten: a one-off cleanup); resets closer together are a cycle
//      (a sawtooth), whose envelope keeps its peaks.
//   6. Projection from the end of the last closed hour. With a day-over-day rate: whole days of
//      growth (24 h x rate each), then the rest of the headroom along yesterday's profile of
//      envelope growth (the share of the day's growth reached h hours into it), so a fill that is
//      faster in business hours crosses in business hours and a pool that saturates at the
//      traffic peak crosses at the peak (seasonal-naive shape, as in Hyndman & Athanasopoulos,
//      FPP3 section 5.2, applied to the increments). Otherwise TTE = (limit - e_h) / rate, moved
//      to a later daily peak when the series is off its peak by more than a day's growth. The
//      interval takes the lower and upper quartile of the day-over-day rates (+-1 standard error
//      of a least-squares slope). None when the rate is not positive or the crossing is more
//      than 14 days away (kHorizonSeconds).
//
// Cost: O(1) per sample (a max), plus O(kHistoryHours) once per hour; no allocation after
// construction; state is a fixed ~1 KiB, saved and restored bit-exactly.
#ifndef BACKSIGHT_FORECAST_TTE_H_
#define BACKSIGHT_FORECAST_TTE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::forecast {

/// Result of TteEstimator::Estimate.
struct TteEstimate {
  /// True when exhaustion is foreseen within kHorizonSeconds; the fields below are then set.
  bool foreseen = false;
  /// Predicted seconds from `now` until the series reaches the limit (0 when already there).
  double tte_seconds = 0;
  /// Interval of the prediction (seconds from `now`): the crossing at the upper and the lower
  /// quartile of the recent growth rates. `tte_high_seconds` may be +inf (beyond the horizon).
  double tte_low_seconds = 0;
  double tte_high_seconds = 0;
};

/// What Update did with a sample.
enum class TteUpdate : uint8_t {
  kAccepted,
  kRejectedNonFinite,   ///< NaN or +-inf value: ignored
  kRejectedOutOfOrder,  ///< timestamp not after the previous accepted one: ignored
};

/// Streaming time-to-exhaustion estimator for one series against a constant limit (see file
/// comment for the method). Not thread-safe; copyable (plain fixed-size state).
class TteEstimator {
 public:
  /// The longest horizon reported: the protocol's "none within 14 days".
  static constexpr double kHorizonSeconds = 14.0 * 86400.0;
  /// Envelope window: a day, the longest cycle of human-driven load and of the usual logrotate
  /// schedules (daily, or every 6/12 h).
  static constexpr int kEnvelopeHours = 24;
  /// History of the envelope kept: today's and yesterday's day-over-day growth (3 days).
  static constexpr int kHistoryHours = 3 * kEnvelopeHours;

  /// `limit` is the capacity in the series' unit (value >= limit means exhausted); must be finite.
  explicit TteEstimator(double limit);

  /// Feeds one sample (timestamps strictly increasing). O(1); once per hour O(kHistoryHours).
  TteUpdate Update(TimestampNs ts, double value);

  /// The prediction at `now` (normally the last sample's timestamp) from the samples fed so far.
  TteEstimate Estimate(TimestampNs now) const;

  double limit() const { return limit_; }
  /// Changes the limit (a resized disk); takes effect at the next hourly refit.
  void set_limit(double limit) { limit_ = limit; }

  /// Appends the state (magic "BTE1", version, fields) to `out`; bit-exact round trip.
  void SaveState(std::string* out) const;
  /// Restores a state written by SaveState. Corruption when the bytes are not such a state.
  Status RestoreState(std::string_view in);

 private:
  void CloseHour(int64_t hour, double peak);
  void Refit(int64_t hour);
  // Least-squares slope (value units per hour) of the envelope over hours (hour-n, hour], and
  // the residual standard deviation in *resid_sd when not null. Needs n >= 2.
  double EnvelopeSlope(int64_t hour, int n, double* resid_sd) const;
  // Hours among the `n` ending at `hour` whose envelope rose above the hour before.
  int NewHighs(int64_t hour, int n) const;
  double PeakAt(int64_t hour) const { return peaks_[Ring(hour, kHistoryHours)]; }
  // Day-over-day growth of the envelope at `hour`, in value units per hour.
  double DayGrowth(int64_t hour) const {
    return (EnvelopeAt(hour) - EnvelopeAt(hour - kEnvelopeHours)) / kEnvelopeHours;
  }
  double EnvelopeAt(int64_t hour) const { return envelope_[Ring(hour, kHistoryHours)]; }
  static int Ring(int64_t hour, int size) {
    int64_t r = hour % size;
    return static_cast<int>(r < 0 ? r + size : r);
  }

  double limit_;
  int64_t last_ts_ = 0;  // ns, last accepted sample
  bool any_ = false;     // a sample was accepted
  int64_t hour_ = 0;     // UTC hour index of the open bucket
  double hour_max_ = 0;  // max of the open bucket
  double last_value_ = 0;
  int64_t hours_ = 0;  // closed hours in the current regime (capped at kHistoryHours + 1)
  int64_t last_drop_hour_ = INT64_MIN / 2;
  int64_t cycle_hours_ = 0;    // length of the reset cycle, 0 when none
  int64_t envelope_hour_ = 0;  // latest hour whose peak is the current envelope
  int64_t change_hour_ = INT64_MIN / 2;
  int64_t last_change_hour_ = INT64_MIN / 2;   // latest change-point, kept after its hold ends //
                                               // start of the current rate change, if recent
  std::array<double, kHistoryHours> peaks_{};  // hourly maxima, ring by hour
  std::array<double, kHistoryHours> envelope_{};  // envelope, ring by hour
  // Last fit: predicted crossing time (s since the epoch, +inf when none) and its interval.
  double cross_s_ = 0;
  double cross_low_s_ = 0;
  double cross_high_s_ = 0;
  bool have_fit_ = false;
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_TTE_H_
