#include "backsight/forecast/tte.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backsight/core/byte_io.h"

namespace backsight::forecast {
namespace {

constexpr int64_t kNanosPerHour = 3600 * kNanosPerSecond;
constexpr double kSecondsPerHour = 3600.0;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Fewest closed hours before any prediction: half a day, so the first fit already averages
// half of a daily cycle.
constexpr int kMinFitHours = 12;
// Fewest day-over-day pairs for a median rate (a quarter of a day's pairs).
constexpr int kMinDailyPairs = 6;
// Persistence: yesterday's day-over-day growth must be at least this fraction of today's, or
// the smaller one is used. 1/3 still follows a leak whose rate triples within a day.
constexpr double kPersistFraction = 1.0 / 3.0;
// Change of rate: the window whose slope is compared with the day before it, and the ratio that
// counts as a change. Half a day spans the rising half of a daily cycle, whose slope can reach
// (1 + a) / 1 of the mean for a modulation depth a < 1; 3 is above that for any a < 1, while a
// deploy that multiplies the growth rate by >= 3 is detected.
constexpr int kShortHours = 12;
constexpr double kAccelRatio = 3.0;
// The rise over the short window must exceed this many residual standard deviations of the
// day before (a 4-sigma rule).
constexpr double kAccelSigmas = 4.0;
// Growth after a change-point is continuous: the hourly peak sets a new envelope high in at
// least this fraction of the short window's hours (a weekday peak after a weekend, which
// raises the envelope for a few hours only, does not).
constexpr double kMonotoneFraction = 0.75;
// A change-point holds until the day-over-day rates cover only the time after it (a day plus
// the short window), or until growth stops (fewer than half of the hours set a new high).
constexpr int kChangeHoldHours = TteEstimator::kEnvelopeHours + kShortHours;
constexpr double kStopFraction = 0.5;
// Reset: the hourly peak drops by at least this fraction of the limit (a log rotation, a
// cleanup, a restart; below it are GC cycles inside an hour and smooth daily cycles, which fall
// by at most amplitude * pi / 24 per hour, < 7 % of the limit for a full-range cycle).
constexpr double kResetDropFraction = 0.10;
// Resets further apart than this are one-off (a new regime: history before it is forgotten);
// closer ones are a cycle. Two days: a rotation or a restart up to every two days is a cycle,
// whose peak (window = cycle + margin) still fits in the three days of history.
constexpr int64_t kPeriodicResetHours = 48;
// A cycle's envelope window is its length plus this margin (its period jitters by an hour or
// two: rotation by size, restarts by a scheduler).
constexpr int64_t kCycleMarginHours = 2;

constexpr uint32_t kStateMagic = 0x31455442;  // "BTE1" little-endian
constexpr uint32_t kStateVersion = 1;

}  // namespace

TteEstimator::TteEstimator(double limit) : limit_(limit) {}

TteUpdate TteEstimator::Update(TimestampNs ts, double value) {
  if (!std::isfinite(value)) return TteUpdate::kRejectedNonFinite;
  if (any_ && ts <= last_ts_) return TteUpdate::kRejectedOutOfOrder;
  int64_t hour = ts / kNanosPerHour;
  if (ts < 0 && hour * kNanosPerHour != ts) --hour;  // floor for times before 1970
  if (!any_) {
    any_ = true;
    hour_ = hour;
    hour_max_ = value;
  } else if (hour != hour_) {
    CloseHour(hour_, hour_max_);
    int64_t gap = hour - hour_ - 1;
    if (gap >= kEnvelopeHours) {
      hours_ = 0;  // nothing recent enough to extend: start afresh
    } else {
      // Hours without samples hold the last value (a scrape gap is not a drop).
      for (int64_t h = hour_ + 1; h < hour; ++h) CloseHour(h, last_value_);
    }
    hour_ = hour;
    hour_max_ = value;
  } else {
    hour_max_ = std::max(hour_max_, value);
  }
  last_ts_ = ts;
  last_value_ = value;
  return TteUpdate::kAccepted;
}

void TteEstimator::CloseHour(int64_t hour, double peak) {
  if (hours_ > 0) {
    double prev = PeakAt(hour - 1);
    if (peak < prev - kResetDropFraction * limit_) {
      if (hour - last_drop_hour_ > kPeriodicResetHours) {
        hours_ = 0;  // a one-off drop: a new regime
        change_hour_ = INT64_MIN / 2;
        last_change_hour_ = INT64_MIN / 2;
        cycle_hours_ = 0;
      } else {
        cycle_hours_ = hour - last_drop_hour_;  // a cycle: its peaks make the envelope
      }
      last_drop_hour_ = hour;
    }
  }
  peaks_[Ring(hour, kHistoryHours)] = peak;
  hours_ = std::min<int64_t>(hours_ + 1, kHistoryHours + 1);
  // The window spans a day, or a whole reset cycle when that is longer (a leak restarted every
  // 30 h keeps the peak of its last cycle).
  int64_t window = std::max<int64_t>(kEnvelopeHours, cycle_hours_ + kCycleMarginHours);
  int n = static_cast<int>(std::min<int64_t>({hours_, window, kHistoryHours}));
  double env = peak;
  envelope_hour_ = hour;
  for (int i = 1; i < n; ++i) {
    double p = PeakAt(hour - i);
    if (p > env) {
      env = p;
      envelope_hour_ = hour - i;
    }
  }
  envelope_[Ring(hour, kHistoryHours)] = env;
  Refit(hour);
}

double TteEstimator::EnvelopeSlope(int64_t hour, int n, double* resid_sd) const {
  // Ordinary least squares on x = 0..n-1 (oldest first), centred for stability.
  double xm = (n - 1) / 2.0;
  double ym = 0;
  for (int i = 0; i < n; ++i) ym += EnvelopeAt(hour - (n - 1 - i));
  ym /= n;
  double sxx = 0, sxy = 0;
  for (int i = 0; i < n; ++i) {
    double dx = i - xm;
    sxx += dx * dx;
    sxy += dx * (EnvelopeAt(hour - (n - 1 - i)) - ym);
  }
  double slope = sxx > 0 ? sxy / sxx : 0;
  if (resid_sd != nullptr) {
    double sse = 0;
    for (int i = 0; i < n; ++i) {
      double r = EnvelopeAt(hour - (n - 1 - i)) - (ym + slope * (i - xm));
      sse += r * r;
    }
    *resid_sd = n > 2 ? std::sqrt(sse / (n - 2)) : 0;
  }
  return slope;
}

namespace {

// Median and quartiles of v[0..n) (n >= 1; v is reordered).
void Quartiles(double* v, int n, double* q25, double* q50, double* q75) {
  std::sort(v, v + n);
  auto at = [&](double q) {
    double pos = q * (n - 1);
    int lo = static_cast<int>(pos);
    int hi = std::min(lo + 1, n - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  *q25 = at(0.25);
  *q50 = at(0.5);
  *q75 = at(0.75);
}

}  // namespace

int TteEstimator::NewHighs(int64_t hour, int n) const {
  int count = 0;
  for (int i = 0; i < n; ++i) {
    int64_t h = hour - i;
    if (EnvelopeAt(h) > EnvelopeAt(h - 1)) ++count;
  }
  return count;
}

void TteEstimator::Refit(int64_t hour) {
  have_fit_ = false;
  int n = static_cast<int>(std::min<int64_t>(hours_, kHistoryHours));
  if (n < kMinFitHours) return;
  double level = EnvelopeAt(hour);
  double rate = 0, rate_lo = 0, rate_hi = 0;
  bool daily = false;  // rate from day-over-day growth (step 3)

  // Change of rate (step 4 of the file comment).
  if (n >= kShortHours + kEnvelopeHours) {
    double sd_before = 0;
    double before = EnvelopeSlope(hour - kShortHours, kEnvelopeHours, &sd_before);
    double recent = EnvelopeSlope(hour, kShortHours, nullptr);
    bool monotone = NewHighs(hour, kShortHours) >= kMonotoneFraction * kShortHours;
    if (monotone && recent > 0 && recent >= kAccelRatio * std::max(before, 0.0) &&
        (recent - before) * kShortHours > kAccelSigmas * sd_before &&
        hour - change_hour_ > kChangeHoldHours) {
      // Place the change-point at the best split of the last day and a half: the hour that
      // minimises the squared error of a line before it plus a line after it.
      int span = kShortHours + kEnvelopeHours;
      double best = kInf;
      int64_t best_c = hour - kShortHours;
      for (int after = 3; after <= kShortHours; ++after) {
        double sd_a = 0, sd_b = 0;
        (void)EnvelopeSlope(hour, after, &sd_a);
        (void)EnvelopeSlope(hour - after, span - after, &sd_b);
        double sse = sd_a * sd_a * (after - 2) + sd_b * sd_b * (span - after - 2);
        if (sse < best) {
          best = sse;
          best_c = hour - after;
        }
      }
      change_hour_ = best_c;
      last_change_hour_ = best_c;
    }
  }
  int since_change = static_cast<int>(std::min<int64_t>(hour - change_hour_, kHistoryHours));
  if (since_change <= kChangeHoldHours && since_change >= 2 &&
      NewHighs(hour, std::min(since_change, kShortHours)) <
          kStopFraction * std::min(since_change, kShortHours)) {
    change_hour_ = INT64_MIN / 2;  // growth stopped: back to the day-over-day rate
    since_change = kHistoryHours;
  }

  if (since_change <= kChangeHoldHours && since_change >= 2) {
    int m = std::min(since_change, n);
    double sd = 0;
    rate = EnvelopeSlope(hour, m, &sd);
    double se = m > 2 ? sd / std::sqrt(m * (m * m - 1.0) / 12.0) : 0;
    rate_lo = rate - se;
    rate_hi = rate + se;
  } else if (n >= 2 * kEnvelopeHours + kMinDailyPairs) {
    daily = true;
    // Day-over-day growth of the envelope: today's pairs and yesterday's (persistence).
    std::array<double, kEnvelopeHours> today{}, before{};
    int nt = kEnvelopeHours;
    int nb = std::min(n - 2 * kEnvelopeHours, kEnvelopeHours);
    for (int i = 0; i < nt; ++i) {
      today[i] = DayGrowth(hour - i);
    }
    for (int i = 0; i < nb; ++i) {
      int64_t h = hour - kEnvelopeHours - i;
      before[i] = DayGrowth(h);
    }
    double q25, q50, q75, b25, b50, b75;
    Quartiles(today.data(), nt, &q25, &q50, &q75);
    Quartiles(before.data(), nb, &b25, &b50, &b75);
    rate = q50;
    rate_lo = q25;
    rate_hi = q75;
    // (Growth after a change-point within the history passed the stronger test of step 4.)
    if (b50 < kPersistFraction * rate && hour - last_change_hour_ > kHistoryHours) {
      // Not sustained: a level shift of the envelope, not growth.
      rate = b50;
      rate_lo = std::min(rate_lo, b25);
      rate_hi = std::min(rate_hi, b75);
    }
    // The medians smooth over two days, so a step of the envelope a day and a half ago still
    // shows in both; the growth of the last day alone must agree (a step has left it).
    double last_day = DayGrowth(hour);
    if (last_day < kPersistFraction * rate && hour - last_change_hour_ > kHistoryHours) {
      rate = std::max(last_day, 0.0);
      rate_lo = std::min(rate_lo, rate);
      rate_hi = std::min(rate_hi, rate);
    }
  } else {
    // Young series: the least-squares slope of the whole envelope, if both halves agree.
    double sd = 0;
    rate = EnvelopeSlope(hour, n, &sd);
    double older = EnvelopeSlope(hour - n / 2, n - n / 2, nullptr);
    double newer = EnvelopeSlope(hour, n / 2, nullptr);
    if (older < kPersistFraction * newer) rate = std::min(rate, older);
    double se = sd / std::sqrt(n * (static_cast<double>(n) * n - 1.0) / 12.0);
    rate_lo = rate - se;
    rate_hi = rate + se;
  }

  double t_end = static_cast<double>(hour + 1) * kSecondsPerHour;
  double headroom = std::max(0.0, limit_ - level);
  auto cross = [&](double r) { return r > 0 ? t_end + headroom / r * kSecondsPerHour : kInf; };
  if (daily) {
    // Step 6 along the daily cycle: whole days of growth, then the rest of the headroom along
    // yesterday's profile of envelope growth (the fraction of the day's growth reached h hours
    // into it): a fill that is faster in business hours crosses in business hours, a pool that
    // saturates at the traffic peak crosses at the peak.
    double day_growth = EnvelopeAt(hour) - EnvelopeAt(hour - kEnvelopeHours);
    auto cross_profile = [&](double r) {
      if (!(r > 0)) return kInf;
      double d = r * kEnvelopeHours;
      double days = std::floor(headroom / d);
      if (days * kEnvelopeHours * kSecondsPerHour > kHorizonSeconds) return kInf;
      double rest = headroom - days * d;
      double prev_w = 0;
      for (int h = 1; h <= kEnvelopeHours; ++h) {
        double w = static_cast<double>(h) / kEnvelopeHours;
        if (day_growth > 0 && h < kEnvelopeHours) {
          double g = EnvelopeAt(hour - kEnvelopeHours + h) - EnvelopeAt(hour - kEnvelopeHours);
          w = std::clamp(g / day_growth, 0.0, 1.0);
        }
        w = std::max(w, prev_w);
        if (w * d >= rest) {
          double frac = w > prev_w ? (rest - prev_w * d) / ((w - prev_w) * d) : 1.0;
          return t_end + (days * kEnvelopeHours + h - 1 + frac) * kSecondsPerHour;
        }
        prev_w = w;
      }
      return t_end + (days + 1) * kEnvelopeHours * kSecondsPerHour;
    };
    cross_s_ = cross_profile(rate);
    cross_low_s_ = std::min(cross_s_, cross_profile(rate_hi));
    cross_high_s_ = std::max(cross_s_, cross_profile(rate_lo));
    have_fit_ = true;
    return;
  }
  cross_s_ = cross(rate);
  cross_low_s_ = std::min(cross_s_, cross(rate_hi));
  cross_high_s_ = std::max(cross_s_, cross(rate_lo));
  // Off-peak: the last hour is further below the envelope than a day's growth, so the series
  // can reach the envelope's level again only at a later peak of its cycle; the limit can then
  // be crossed only at such a peak, a whole number of days after the envelope's hour.
  if (rate > 0 && level - PeakAt(hour) > rate * kEnvelopeHours && hour - envelope_hour_ >= 1) {
    double peak_s = (static_cast<double>(envelope_hour_) + 0.5) * kSecondsPerHour;
    auto snap = [&](double c) {
      if (!std::isfinite(c)) return c;
      double days = std::ceil((c - peak_s) / (kEnvelopeHours * kSecondsPerHour));
      return peak_s + std::max(1.0, days) * kEnvelopeHours * kSecondsPerHour;
    };
    cross_s_ = snap(cross_s_);
    cross_low_s_ = snap(cross_low_s_);
    cross_high_s_ = snap(cross_high_s_);
  }
  have_fit_ = true;
}

TteEstimate TteEstimator::Estimate(TimestampNs now) const {
  TteEstimate out;
  if (any_ && last_value_ >= limit_) {
    out.foreseen = true;
    return out;
  }
  if (!have_fit_ || !std::isfinite(cross_s_)) return out;
  double now_s = static_cast<double>(now) / kNanosPerSecond;
  double tte = std::max(0.0, cross_s_ - now_s);
  if (tte > kHorizonSeconds) return out;
  out.foreseen = true;
  out.tte_seconds = tte;
  out.tte_low_seconds = std::max(0.0, cross_low_s_ - now_s);
  out.tte_high_seconds = std::max(0.0, cross_high_s_ - now_s);
  return out;
}

void TteEstimator::SaveState(std::string* out) const {
  ByteWriter w(out);
  w.PutU32(kStateMagic);
  w.PutU32(kStateVersion);
  w.PutDouble(limit_);
  w.PutI64(last_ts_);
  w.PutU8(any_ ? 1 : 0);
  w.PutI64(hour_);
  w.PutDouble(hour_max_);
  w.PutDouble(last_value_);
  w.PutI64(hours_);
  w.PutI64(last_drop_hour_);
  w.PutI64(cycle_hours_);
  w.PutI64(change_hour_);
  w.PutI64(envelope_hour_);
  w.PutI64(last_change_hour_);
  for (double v : peaks_) w.PutDouble(v);
  for (double v : envelope_) w.PutDouble(v);
  w.PutDouble(cross_s_);
  w.PutDouble(cross_low_s_);
  w.PutDouble(cross_high_s_);
  w.PutU8(have_fit_ ? 1 : 0);
}

Status TteEstimator::RestoreState(std::string_view in) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kStateMagic, kStateVersion, "tte state"));
  TteEstimator s(0);
  uint8_t any = 0, fit = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.limit_, "limit"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.last_ts_, "last_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&any, "any"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.hour_, "hour"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.hour_max_, "hour_max"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.last_value_, "last_value"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.hours_, "hours"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.last_drop_hour_, "last_drop_hour"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.cycle_hours_, "cycle_hours"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.change_hour_, "change_hour"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.envelope_hour_, "envelope_hour"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.last_change_hour_, "last_change_hour"));
  for (double& v : s.peaks_) BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&v, "peak"));
  for (double& v : s.envelope_) BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&v, "envelope"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.cross_s_, "cross"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.cross_low_s_, "cross_low"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.cross_high_s_, "cross_high"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&fit, "have_fit"));
  if (!r.done()) return Status::Corruption("tte state: trailing bytes");
  if (any > 1 || fit > 1 || s.hours_ < 0 || s.hours_ > kHistoryHours + 1) {
    return Status::Corruption("tte state: field out of range");
  }
  s.any_ = any == 1;
  s.have_fit_ = fit == 1;
  *this = s;
  return Status::OK();
}

}  // namespace backsight::forecast
