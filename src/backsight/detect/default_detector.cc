// The default detector: streaming multi-feature novelty detection.
//
// Model (raw evidence, fields in calibrator.h), all scale-free so no per-series setting exists:
//  * Global novelty: the value, or its 10-sample rolling mean, leaves the envelope of everything
//    seen so far (Numenta's "spatial anomaly" rule, Ahmad et al., Neurocomputing 2017, 4.3, applied
//    to two features). Catches new levels, spikes beyond precedent, lasting shifts.
//  * Local novelty: the value leaves a forgetting envelope of the recent regime (edges relax
//    toward an EW centre with time constant kLocalTau samples), or — for series with a strong
//    period found in the data (forecast/period_finder.h) — the envelope of values seen at the same
//    phase (bin) of the period. Catches bursts after quiet spells and "wrong for this time of day"
//    values.
//  * Changepoint: a two-sided CUSUM (Page, "Continuous inspection schemes", Biometrika 1954) of the
//    value standardised by its slowly updated mean and variance; catches drifts and shifts that
//    stay inside the envelopes (a slow decline, a level change within the usual range). For series
//    whose period is strong enough for per-phase envelopes the CUSUM watches the deseasonalised
//    value (value minus its phase's profile), so the seasonal swing is not taken for a shift. An
//    alarm's severity is Page's estimate of the shift size, k + S/N in standard deviations (N =
//    samples since the alarming sum left zero): an abrupt shift ranks above a slow accumulation.
//  * Rest periods: after a novelty, the same class of evidence rests (kGlobalRest / kLocalRest
//    samples), so one event is reported once and a ramp does not alarm at every new maximum.
// Forecast (for yhat and its band only): exponentially weighted level (Brown's simple exponential
// smoothing), or level + seasonal profile (additive Holt-Winters without trend) once a strong
// period is found; robust scale = EW mean absolute residual with clipped updates. Calibration
// (calibrator.h): evidence -> likelihood with a fixed severity order -> anomaly_score. Decision:
// is_anomaly = anomaly_score > 1 after warm-up (the score is capped at 1 during warm-up).
// Robustness: evidence comes from the raw value, but every part of the state learns from the value
// winsorised to the whole-history envelope +- kWinsorWidths widths (see Winsorise), so one extreme
// value is an anomaly, not a new normal; arithmetic saturates instead of overflowing.
//
// O(1) per sample; the state is 1-2.2 KiB (most of it the seasonal profile) and restores
// bit-exactly.
#include "backsight/detect/default_detector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backsight/core/byte_io.h"
#include "backsight/detect/calibrator.h"
#include "backsight/detect/novelty.h"
#include "backsight/forecast/period_finder.h"
#include "backsight/forecast/robust_scale.h"
#include "backsight/forecast/seasonal_profile.h"

namespace backsight::detect {
namespace {

using forecast::PeriodFinder;
using forecast::RobustScale;
using forecast::SeasonalProfile;

// State format. BSD3: the rolling mean's ring holds x / 16; learning from winsorised values.
// BSD2 had no such scaling, BSD1 no CUSUM run lengths/shift; both are refused on restore.
constexpr uint32_t kStateMagic = 0x42534433;  // "BSD3"
constexpr uint32_t kOldStateMagics[] = {0x42534431, 0x42534432};
constexpr double kClip = 4.0;  // Huber clipping of residuals, in robust scales
// Learning uses the value winsorised to the whole-history envelope widened by this many widths on
// each side, so an extreme value widens the envelope at most (1 + 2 kWinsorWidths)-fold.
constexpr double kWinsorWidths = 4.0;
constexpr double kLevelAlpha = 0.1;                  // smoothing weight of the level
constexpr int kMaxBins = SeasonalProfile::kMaxBins;  // per-phase envelope bins
constexpr double kStrongSeasonality = 0.6;  // ACF above which the seasonal model is trusted
constexpr uint32_t kGlobalMinSamples = 50;  // envelope must have seen this many values
constexpr uint32_t kLocalMinSamples = 100;
constexpr double kLocalTau = 500;       // samples
constexpr double kBandScales = 5.0;     // yhat band half-width in robust scales
constexpr double kPhaseStrength = 0.8;  // ACF above which per-phase envelopes are used
constexpr uint8_t kPhaseMinSamples = 10;
constexpr double kPhaseWidthFloor = 0.1;   // fraction of the global envelope width
constexpr double kGlobalTrigger = 0.02;    // global excess that starts a rest period
constexpr double kGlobalEscalation = 0.5;  // global excess that is reported even at rest
constexpr int kGlobalRest = 30;            // samples
constexpr double kLocalTrigger = 0.5;      // local excess that starts a rest period
constexpr double kCusumAlpha = 0.001;      // weight of a sample in the CUSUM's mean/variance
constexpr double kCusumDrift = 1.0;        // k, in standard deviations
constexpr double kCusumThreshold = 50.0;   // h, in standard deviations
constexpr uint64_t kCusumMinSamples = 100;
constexpr int kLocalRest = 100;  // samples
// Changepoint alarms in the same direction less than this many samples apart are one drift, whose
// severity is the sum of their shift estimates (one rest period: the alarms a rest would hide).
constexpr uint32_t kDriftWindow = kLocalRest;

/// Everything that changes per sample; replaced as a whole on restore.
struct State {
  DetectorStats stats;
  TimestampNs last_ts = 0;
  double step_ns = 0;     // typical sampling step (EW, outlier-limited)
  double resolution = 0;  // smallest non-zero |difference| seen (integer series: 1)
  double level = 0;
  double last = 0;
  RobustScale level_scale;
  // Seasonal model.
  PeriodFinder period_finder;
  SeasonalProfile seasonal;  // level + profile forecast (forecast/seasonal_profile.h)
  // Novelty features.
  GlobalEnvelope value_env;
  GlobalEnvelope mean_env;
  LocalEnvelope local_env;
  Cusum cusum{kCusumAlpha, kCusumDrift, kCusumThreshold};
  std::array<float, kMaxBins> phase_lo{}, phase_hi{};  // per-phase envelopes (strong periods)
  std::array<uint8_t, kMaxBins> phase_n{};
  int global_rest = 0;  // samples left in the rest periods of the envelope evidence
  int local_rest = 0;
  double drift = 0;          // accumulated shift of the current drift, in standard deviations
  uint32_t since_alarm = 0;  // samples since the latest changepoint alarm (saturates)
  int8_t drift_dir = 0;      // direction of the current drift (+1 up, -1 down, 0 none)
  RollingMean value_mean;

  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);
};

void PutFloat(ByteWriter* w, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  w->PutU32(bits);
}

Status GetFloat(ByteReader* r, float* f, const char* field) {
  uint32_t bits;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&bits, field));
  std::memcpy(f, &bits, 4);
  return Status::OK();
}

void State::Save(ByteWriter* w) const {
  w->PutU64(stats.accepted);
  for (uint64_t c : stats.rejected) w->PutU64(c);
  w->PutU64(stats.gaps);
  w->PutI64(last_ts);
  w->PutDouble(step_ns);
  w->PutDouble(resolution);
  w->PutDouble(level);
  w->PutDouble(last);
  level_scale.Save(w);
  period_finder.Save(w);
  seasonal.Save(w);
  value_env.Save(w);
  mean_env.Save(w);
  local_env.Save(w);
  cusum.Save(w);
  value_mean.Save(w);
  for (int i = 0; i < seasonal.bins(); ++i) {
    PutFloat(w, phase_lo[i]);
    PutFloat(w, phase_hi[i]);
    w->PutU8(phase_n[i]);
  }
  w->PutU32(static_cast<uint32_t>(global_rest));
  w->PutU32(static_cast<uint32_t>(local_rest));
  w->PutDouble(drift);
  w->PutU32(since_alarm);
  w->PutU8(static_cast<uint8_t>(drift_dir + 1));
}

Status State::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&stats.accepted, "accepted"));
  for (uint64_t& c : stats.rejected) BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&c, "rejected"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&stats.gaps, "gaps"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&last_ts, "last_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&step_ns, "step_ns"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&resolution, "resolution"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&level, "level"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&last, "last"));
  BACKSIGHT_RETURN_IF_ERROR(level_scale.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(period_finder.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(seasonal.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(value_env.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(mean_env.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(local_env.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(cusum.Restore(r));
  BACKSIGHT_RETURN_IF_ERROR(value_mean.Restore(r));
  for (int i = 0; i < seasonal.bins(); ++i) {
    BACKSIGHT_RETURN_IF_ERROR(GetFloat(r, &phase_lo[i], "phase_lo"));
    BACKSIGHT_RETURN_IF_ERROR(GetFloat(r, &phase_hi[i], "phase_hi"));
    BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&phase_n[i], "phase_n"));
  }
  uint32_t g, l;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&g, "global_rest"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&l, "local_rest"));
  if (g > kGlobalRest || l > kLocalRest) return Status::Corruption("rest period out of range");
  global_rest = static_cast<int>(g);
  local_rest = static_cast<int>(l);
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&drift, "drift"));
  if (!(drift >= 0) || !std::isfinite(drift)) return Status::Corruption("drift invalid");
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&since_alarm, "since_alarm"));
  uint8_t dir;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&dir, "drift_dir"));
  if (dir > 2) return Status::Corruption("drift_dir out of range");
  drift_dir = static_cast<int8_t>(dir - 1);
  return Status::OK();
}

class DefaultDetector final : public Detector {
 public:
  explicit DefaultDetector(const DefaultDetectorOptions& o) : opt_(o) {}

  Status Update(TimestampNs ts, double x, DetectionResult* r) override {
    if (!std::isfinite(x)) {
      ++st_.stats.rejected[RejectIndex(Reason::kNotFinite)];
      return Status::InvalidArgument(
          Reason::kNotFinite, std::string("rejected sample: ") + ReasonName(Reason::kNotFinite));
    }
    if (st_.stats.accepted > 0 && ts <= st_.last_ts) {
      const Reason why = ts == st_.last_ts ? Reason::kDuplicateTimestamp : Reason::kOutOfOrder;
      ++st_.stats.rejected[RejectIndex(why)];
      return Status::OutOfRange(why, std::string("rejected sample: ") + ReasonName(why));
    }
    TrackSampling(ts, x);
    // Evidence is computed from x, every part of the state learns from xw.
    const double xw = Winsorise(x);

    // Expected value: the seasonal forecast for strongly periodic series, else the smoothed level.
    const double floor = std::max(st_.resolution * 0.5, 1e-9 * (std::fabs(st_.level) + 1e-12));
    const double e_level = SaturatingDiff(xw, st_.level);
    double yhat = st_.level;
    double yscale = std::max(st_.level_scale.s, floor);
    int bin = -1;
    double e_seas = 0;
    if (st_.seasonal.active()) {
      bin = st_.seasonal.PhaseBin(ts);
      const double pred = st_.seasonal.Predict(bin);
      e_seas = SaturatingDiff(xw, pred);
      if (st_.seasonal.scale().n > 10 && st_.period_finder.strength() > kStrongSeasonality) {
        yhat = pred;
        yscale = std::max(st_.seasonal.scale().s, floor);
      }
    }

    NoveltyEvidence ev;
    const double mean10 = st_.value_mean.Add(xw);
    ev.global_excess = std::max(st_.value_env.Update(x, xw, kGlobalMinSamples),
                                st_.mean_env.Update(mean10, kGlobalMinSamples + 10));
    ev.local_excess = st_.local_env.Update(x, xw, kLocalTau, kLocalMinSamples);
    if (bin >= 0) ev.local_excess = std::max(ev.local_excess, PhaseExcess(bin, x, xw));

    // A changepoint (two-sided CUSUM alarm) counts as local evidence whose excess is the estimated
    // size of the shift in standard deviations. For series with a period strong enough for
    // per-phase envelopes, the CUSUM watches the deseasonalised value (x minus its phase's
    // profile), so the daily swing itself is not mistaken for a shift.
    double x_cusum = xw;
    if (bin >= 0 && st_.seasonal.scale().n > 10 && st_.period_finder.strength() >= kPhaseStrength) {
      x_cusum = xw - st_.seasonal.profile(bin);
    }
    const double cp = st_.cusum.Update(x_cusum, floor, st_.stats.accepted >= kCusumMinSamples);
    // Alarms in the same direction in quick succession are one drift that keeps going: its
    // accumulated shift ranks it (anomaly_score only; the likelihood and the decision use the
    // alarm's own shift), so a long decline outranks a single step of the same size.
    if (cp > 1) {
      const bool same = st_.cusum.direction() == st_.drift_dir && st_.since_alarm <= kDriftWindow;
      st_.drift = (same ? st_.drift : 0.0) + st_.cusum.shift();
      st_.drift_dir = static_cast<int8_t>(st_.cusum.direction());
      st_.since_alarm = 0;
      ev.local_excess = std::max(ev.local_excess, st_.cusum.shift());
      ev.drift = st_.drift;
    } else if (st_.since_alarm < UINT32_MAX) {
      ++st_.since_alarm;
    }
    ApplyRestPeriods(&ev);
    // Calibration and decision.
    r->raw_score = std::max(ev.global_excess, ev.local_excess);
    r->likelihood = NoveltyLikelihood(ev);
    r->warming_up = st_.stats.accepted < static_cast<uint64_t>(opt_.warmup_samples);
    // During warm-up the score is capped at 1 (never "anomalous" while is_anomaly cannot be set).
    r->anomaly_score = AnomalyScore(ev, r->likelihood);
    if (r->warming_up) r->anomaly_score = std::min(r->anomaly_score, 1.0);
    r->is_anomaly = !r->warming_up && r->anomaly_score > 1.0;
    r->yhat = yhat;
    r->yhat_lower = yhat - kBandScales * yscale;
    r->yhat_upper = yhat + kBandScales * yscale;

    LearnPredictors(ts, x, xw, e_level, bin, e_seas, floor);
    return Status::OK();
  }

  void SaveState(std::string* out) const override {
    ByteWriter w(out);
    w.PutU32(kStateMagic);
    w.PutU32(static_cast<uint32_t>(opt_.warmup_samples));
    st_.Save(&w);
  }

  Status RestoreState(std::string_view in) override {
    ByteReader rd(in);
    uint32_t magic, warm;
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&magic, "magic"));
    if (magic != kStateMagic) {
      for (uint32_t old : kOldStateMagics) {
        if (magic == old) {
          return Status::Corruption(
              std::string("default-detector state in an older format (magic at byte 0 is BSD") +
              static_cast<char>(old & 0xff) +
              "); this version (BSD3) cannot restore it, the series must be learnt afresh");
        }
      }
      return Status::Corruption("not a default-detector state (bad magic at byte 0)");
    }
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&warm, "warmup_samples"));
    State tmp;
    BACKSIGHT_RETURN_IF_ERROR(tmp.Restore(&rd));
    if (!rd.done()) {
      return Status::Corruption("trailing bytes after detector state at byte " +
                                std::to_string(rd.position()));
    }
    opt_.warmup_samples = static_cast<int>(warm);
    st_ = tmp;
    return Status::OK();
  }

  const DetectorStats& stats() const override { return st_.stats; }
  uint64_t warmup_samples() const override { return static_cast<uint64_t>(opt_.warmup_samples); }
  std::string_view name() const override { return "default"; }

 private:
  void TrackSampling(TimestampNs ts, double x) {
    if (st_.stats.accepted == 0) {
      st_.level = x;
      st_.last = x;
      return;
    }
    const double step = static_cast<double>(ts - st_.last_ts);
    if (st_.step_ns > 0 && step > 1.5 * st_.step_ns) ++st_.stats.gaps;
    st_.step_ns = st_.step_ns == 0
                      ? step
                      : st_.step_ns + 0.05 * (std::min(step, 4 * st_.step_ns) - st_.step_ns);
    const double d = std::fabs(SaturatingDiff(x, st_.last));
    if (d > 0 && (st_.resolution == 0 || d < st_.resolution)) st_.resolution = d;
  }

  // Winsorised copy of x that the state learns from: x clamped to the whole-history envelope
  // widened by kWinsorWidths widths on each side (the width floored at the series' resolution). The
  // cleaned-value form of robust exponential smoothing (Gelper, Fried & Croux, "Robust forecasting
  // with exponential and Holt-Winters smoothing", J. Forecasting 29, 2010), with a bound taken from
  // the range seen instead of a scale: a single value far outside anything seen moves every part of
  // the state by a bounded amount, while a lasting new level widens the envelope geometrically and
  // is learnt within a few dozen samples. Before the envelope has a width, x is returned as is.
  double Winsorise(double x) const {
    // Common case: x inside the envelope is inside the widened one too (also when n() == 0 or the
    // width is 0, where x is returned as is), so the bounds need not be computed.
    if (x >= st_.value_env.lo() && x <= st_.value_env.hi()) return x;
    if (st_.value_env.n() == 0) return x;
    const double w =
        std::max(SaturatingDiff(st_.value_env.hi(), st_.value_env.lo()), st_.resolution);
    if (!(w > 0)) return x;
    const double m = kWinsorWidths * w;  // +inf when w is near DBL_MAX: then no clipping
    return std::clamp(x, st_.value_env.lo() - m, st_.value_env.hi() + m);
  }

  // Novelty of x against the envelope of values seen at the same phase of a strong period, in
  // units of that envelope's width (floored at kPhaseWidthFloor of the global width); 0 until the
  // bin has kPhaseMinSamples values. Then widens the bin's envelope with the winsorised xw.
  double PhaseExcess(int bin, double x, double xw) {
    double ex = 0;
    const double gw = SaturatingDiff(st_.value_env.hi(), st_.value_env.lo());
    if (st_.period_finder.strength() >= kPhaseStrength && st_.phase_n[bin] >= kPhaseMinSamples &&
        gw > 0) {
      const double wb =
          std::max<double>(st_.phase_hi[bin] - st_.phase_lo[bin], kPhaseWidthFloor * gw);
      ex = std::max(0.0, std::max(x - st_.phase_hi[bin], st_.phase_lo[bin] - x) / wb);
    }
    const float xf = SaturatingFloat(xw);
    if (st_.phase_n[bin] == 0) st_.phase_lo[bin] = st_.phase_hi[bin] = xf;
    st_.phase_lo[bin] = std::min(st_.phase_lo[bin], xf);
    st_.phase_hi[bin] = std::max(st_.phase_hi[bin], xf);
    if (st_.phase_n[bin] < 255) ++st_.phase_n[bin];
    return ex;
  }

  // One event is reported once: after a global novelty the global evidence rests for
  // kGlobalRest samples (unless the value jumps a further kGlobalEscalation envelope widths), after
  // a local novelty the local evidence rests for kLocalRest samples.
  void ApplyRestPeriods(NoveltyEvidence* ev) {
    if (st_.global_rest > 0 && ev->global_excess > kGlobalEscalation) {  // much worse: report again
      st_.global_rest = kGlobalRest;
    } else if (st_.global_rest > 0) {
      --st_.global_rest;
      ev->global_excess = 0;
    } else if (ev->global_excess > kGlobalTrigger) {
      st_.global_rest = kGlobalRest;
    }
    if (st_.local_rest > 0) {
      --st_.local_rest;
      ev->local_excess = 0;
      ev->drift = 0;
    } else if (ev->local_excess > kLocalTrigger) {
      st_.local_rest = kLocalRest;
    }
  }

  // Learning with bounded influence: the level and the seasonal model take Huber-clipped
  // residuals (at kClip robust scales; P. J. Huber, Ann. Math. Statist. 35, 1964, as used by
  // Gelper, Fried & Croux 2010), the scales clipped absolute residuals, the period finder xw.
  void LearnPredictors(TimestampNs ts, double x, double xw, double e_level, int bin, double e_seas,
                       double floor) {
    if (bin >= 0) st_.seasonal.Learn(bin, e_seas, floor);
    if (st_.period_finder.Add(ts, xw) &&
        st_.seasonal.MaybeAdopt(st_.period_finder, st_.step_ns, st_.level)) {
      st_.phase_n.fill(0);  // per-phase envelopes start afresh with the new bins
    }
    const double sl = std::max(st_.level_scale.s, floor);
    st_.level_scale.Update(std::fabs(e_level));
    st_.level += kLevelAlpha * std::clamp(e_level, -kClip * sl, kClip * sl);
    st_.last = x;
    st_.last_ts = ts;
    ++st_.stats.accepted;
  }

  DefaultDetectorOptions opt_;
  State st_;
};

}  // namespace

std::unique_ptr<Detector> MakeDefaultDetector(const DefaultDetectorOptions& options) {
  return std::make_unique<DefaultDetector>(options);
}

}  // namespace backsight::detect
