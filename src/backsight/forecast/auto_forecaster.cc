#include "backsight/forecast/auto_forecaster.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "backsight/core/number_format.h"
#include "backsight/forecast/detrend.h"

namespace backsight::forecast {
namespace {

// State format of an AutoForecaster: magic "BSA1", version 1, then its models.
constexpr uint32_t kMagic = 0x42534131;
constexpr uint32_t kVersion = 1;
// ACF thresholds, set a priori (not tuned): far above white noise's 95 % band of 1.96 / sqrt(n)
// (0.09 at n = 500), so a period is kept only when it explains a real share of the variance.
constexpr double kMinAcf1 = 0.3;  // ACF peak that makes a first period
constexpr double kMinAcf2 = 0.2;  // ACF of the remainder that makes a second period
constexpr int kMinCycles = 3;     // a period must fit this many times into the series
constexpr int kMaxCombine = 16;
constexpr double kFenceIqrs = 3.0;  // Tukey's "far out" fence
// Candidate smoothing weights of the level (alpha) and of both seasonal components (gamma).
// Chosen on the M4 Hourly validation split (the last 48 values of each training series, never the
// test file), combining the 3 best: alpha {0.1, 0.3, 0.6} x gamma {0.05} gave OWA 0.542, with
// gamma {0.05, 0.2} 0.508, and alpha {0.05, 0.2} x gamma {0.05, 0.2} 0.507 in 25 % less time.
constexpr double kAlphas[] = {0.05, 0.2};
constexpr double kGammas[] = {0.05, 0.2};
// Bounds of the holdout's interval calibration (a factor on the model's sigma): it only widens
// (the holdout errors of the best candidates are optimistic: they were chosen for being small;
// letting it narrow to 0.5 gave 0.857 coverage on the M4 validation split, widening only 0.903),
// at most 10-fold.
constexpr double kMinIntervalScale = 1.0;
constexpr double kMaxIntervalScale = 10.0;

// ACF of y at `lag` (y already centred), normalised by the lag-0 sum.
double Acf(const std::vector<double>& y, double var, int lag) {
  double c = 0;
  for (size_t i = 0; i + lag < y.size(); ++i) c += y[i] * y[i + lag];
  return var > 0 ? c / var : 0.0;
}

// x clamped to Tukey's far-out fences [Q1 - 3 IQR, Q3 + 3 IQR] (Tukey, "Exploratory Data
// Analysis", 1977), so one extreme value cannot dominate the period search, the seasonal
// decomposition that initialises the models, or the holdout. Unchanged when the IQR is 0.
std::vector<double> Fenced(std::span<const double> x) {
  std::vector<double> q(x.begin(), x.end());
  const size_t i1 = q.size() / 4, i3 = (3 * q.size()) / 4;
  std::nth_element(q.begin(), q.begin() + i1, q.end());
  const double q1 = q[i1];
  std::nth_element(q.begin(), q.begin() + i3, q.end());
  const double q3 = q[i3];
  std::vector<double> y(x.begin(), x.end());
  const double iqr = q3 - q1;
  if (!(iqr > 0)) return y;
  for (double& v : y) v = std::clamp(v, q1 - kFenceIqrs * iqr, q3 + kFenceIqrs * iqr);
  return y;
}

// Standard-normal quantile for a central interval of `coverage` (Newton on erfc).
double NormalQuantile(double coverage) {
  const double tail = 0.5 * (1.0 - std::clamp(coverage, 0.5, 0.999999));
  double z = 2.0;
  for (int i = 0; i < 50; ++i) {
    const double f = 0.5 * std::erfc(z / std::sqrt(2.0)) - tail;
    const double d = -std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
    z -= f / d;
  }
  return z;
}

// Runs `c` on x minus its last `holdout` samples and forecasts them. Returns the mean absolute
// error (series units). *spread gets the interval calibration of the holdout: the `coverage`
// quantile of the errors' magnitudes in units of the model's own one-sigma band (model units: log
// for log models), divided by the normal quantile `z` of that coverage; 1 when the band held
// exactly the nominal share (a split-conformal estimate, Vovk, Gammerman & Shafer 2005).
double HoldoutError(const SmoothingConfig& c, std::span<const double> x, int holdout,
                    double coverage, double z, double* spread) {
  const auto fit = x.first(x.size() - holdout);
  SmoothingModel m(c);
  m.Initialise(fit);
  for (double v : fit) m.Update(v);
  std::vector<ForecastPoint> f(holdout);
  m.Forecast(1.0, f);
  double err = 0;
  std::vector<double> az(holdout);
  for (int k = 0; k < holdout; ++k) {
    const double y = x[fit.size() + k];
    err += std::fabs(y - f[k].yhat);
    const double e = c.log ? std::log(std::max(y, 1e-300) / f[k].yhat) : y - f[k].yhat;
    const double sd = c.log ? std::log(f[k].upper / f[k].yhat) : f[k].upper - f[k].yhat;
    az[k] = sd > 0 ? std::fabs(e / sd) : 0.0;
  }
  // The ceil((n + 1) coverage)-th smallest of n scores: split conformal's finite-sample rank.
  const size_t rank = static_cast<size_t>(std::ceil((holdout + 1) * coverage));
  const size_t q = std::min<size_t>(holdout, std::max<size_t>(rank, 1)) - 1;
  std::nth_element(az.begin(), az.begin() + q, az.end());
  *spread = az[q] / z;
  return std::isfinite(err) ? err / holdout : std::numeric_limits<double>::infinity();
}

}  // namespace

Periods FindPeriods(std::span<const double> x) {
  Periods p;
  const int n = static_cast<int>(x.size());
  const int max_lag = n / kMinCycles;
  if (max_lag < 3) return p;
  std::vector<double> y(x.begin(), x.end());
  DetrendLinear(y);
  double var = 0;
  for (double v : y) var += v * v;
  if (!(var > 0)) return p;
  std::vector<double> acf(max_lag + 2, 0.0);
  for (int lag = 1; lag <= max_lag + 1 && lag < n; ++lag) acf[lag] = Acf(y, var, lag);
  for (int lag = 2; lag <= max_lag; ++lag) {
    if (acf[lag] > kMinAcf1 && acf[lag] >= acf[lag - 1] && acf[lag] >= acf[lag + 1]) {
      p.period1 = lag;
      break;
    }
  }
  if (p.period1 == 0) return p;
  // Remainder after the first period's profile, then the best multiple of it.
  const int p1 = p.period1;
  std::vector<double> prof(p1, 0.0);
  std::vector<int> cnt(p1, 0);
  for (int i = 0; i < n; ++i) {
    prof[i % p1] += y[i];
    ++cnt[i % p1];
  }
  double rvar = 0;
  for (int i = 0; i < n; ++i) {
    y[i] -= prof[i % p1] / cnt[i % p1];
    rvar += y[i] * y[i];
  }
  double best = kMinAcf2;
  for (int k = 2; k * p1 <= max_lag; ++k) {
    const double a = Acf(y, rvar, k * p1);
    if (a > best) {
      best = a;
      p.period2 = k * p1;
    }
  }
  return p;
}

Status AutoForecaster::Fit(std::span<const double> raw, int horizon) {
  if (raw.empty()) return Status::InvalidArgument("cannot forecast an empty series");
  bool positive = true;
  for (double v : raw) {
    if (!std::isfinite(v)) return Status::InvalidArgument("non-finite value in the series");
    positive = positive && v > 0;
  }
  const std::vector<double> clean = Fenced(raw);
  const std::span<const double> x = clean;
  const Periods per = FindPeriods(x);
  std::vector<std::pair<int, int>> period_sets = {{0, 0}};
  if (per.period1 > 0) period_sets.push_back({per.period1, 0});
  if (per.period2 > 0) period_sets.push_back({per.period1, per.period2});
  std::vector<SmoothingConfig> cands;
  for (bool lg : {false, true}) {
    if (lg && !positive) continue;
    for (auto [p1, p2] : period_sets) {
      for (TrendKind tk : {TrendKind::kNone, TrendKind::kDamped, TrendKind::kTheta}) {
        for (double alpha : kAlphas) {
          for (double gamma : kGammas) {
            SmoothingConfig c;
            c.gamma1 = c.gamma2 = gamma;
            c.trend = tk;
            c.log = lg;
            c.period1 = p1;
            c.period2 = p2;
            c.alpha = alpha;
            cands.push_back(c);
          }
        }
      }
    }
  }
  int holdout = opt_.holdout > 0 ? opt_.holdout : horizon;
  // The fit part must keep enough cycles of every period; else choose on a shorter holdout.
  holdout = std::min<int>(holdout, static_cast<int>(x.size()) / 4);
  std::vector<double> err(cands.size(), 0.0), spread(cands.size(), 1.0);
  const double z = NormalQuantile(opt_.coverage);
  if (holdout < 1) {
    // Too short for a holdout: rank by the in-sample mean absolute one-step error instead.
    for (size_t i = 0; i < cands.size(); ++i) {
      SmoothingModel m(cands[i]);
      m.Initialise(x);
      for (double v : x) err[i] += std::fabs(m.Update(v));
      if (!std::isfinite(err[i]) || cands[i].log) err[i] = std::numeric_limits<double>::infinity();
    }
  } else if (cands.size() > 1) {
    for (size_t i = 0; i < cands.size(); ++i) {
      const int longest = std::max(cands[i].period1, cands[i].period2);
      err[i] = static_cast<int>(x.size()) - holdout >= 2 * longest
                   ? HoldoutError(cands[i], x, holdout, opt_.coverage, z, &spread[i])
                   : std::numeric_limits<double>::infinity();
    }
  }
  std::vector<size_t> order(cands.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return err[a] < err[b]; });
  const int k = std::clamp(opt_.combine, 1, std::min<int>(kMaxCombine, cands.size()));
  models_.clear();
  for (int i = 0; i < k; ++i) {
    SmoothingModel m(cands[order[i]]);
    if (std::isfinite(spread[order[i]])) {
      m.set_interval_scale(std::clamp(spread[order[i]], kMinIntervalScale, kMaxIntervalScale));
    }
    m.Initialise(x);
    for (double v : x) m.Update(v);
    models_.push_back(std::move(m));
  }
  return Status::OK();
}

Status AutoForecaster::Update(double x) {
  if (!std::isfinite(x)) return Status::InvalidArgument("non-finite value");
  for (SmoothingModel& m : models_) m.Update(x);
  return Status::OK();
}

void AutoForecaster::Forecast(std::span<ForecastPoint> out) const {
  const double z = NormalQuantile(opt_.coverage);
  if (models_.size() == 1) {
    models_[0].Forecast(z, out);
    return;
  }
  std::vector<std::vector<ForecastPoint>> all(models_.size(),
                                              std::vector<ForecastPoint>(out.size()));
  for (size_t i = 0; i < models_.size(); ++i) models_[i].Forecast(z, all[i]);
  std::vector<double> v(models_.size());
  auto median = [&v]() {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
  };
  for (size_t k = 0; k < out.size(); ++k) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = all[i][k].yhat;
    out[k].yhat = median();
    for (size_t i = 0; i < v.size(); ++i) v[i] = all[i][k].lower;
    out[k].lower = median();
    for (size_t i = 0; i < v.size(); ++i) v[i] = all[i][k].upper;
    out[k].upper = median();
  }
}

std::string AutoForecaster::Describe() const {
  if (models_.empty()) return "none";
  const SmoothingConfig& c = models_[0].config();
  std::string s = "ets(";
  s += c.trend == TrendKind::kNone ? "level" : c.trend == TrendKind::kDamped ? "damped" : "theta";
  if (c.log) s += ",log";
  for (int p : {c.period1, c.period2}) {
    if (p == 0) continue;
    s += ',';
    s += std::to_string(p);
  }
  s += ",alpha=";
  AppendDouble(c.alpha, &s, 3);
  s += ",gamma=";
  AppendDouble(c.gamma1, &s, 3);
  s += ')';
  if (models_.size() > 1) s += " and " + std::to_string(models_.size() - 1) + " more, median";
  return s;
}

void AutoForecaster::Save(ByteWriter* w) const {
  w->PutU32(kMagic);
  w->PutU32(kVersion);
  w->PutDouble(opt_.coverage);
  w->PutU32(static_cast<uint32_t>(models_.size()));
  for (const SmoothingModel& m : models_) m.Save(w);
}

Status AutoForecaster::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetStateHeader(kMagic, kVersion, "auto-forecaster state"));
  double coverage;
  uint32_t count;
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&coverage, "coverage"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&count, "models"));
  if (!(coverage > 0 && coverage < 1) || count > kMaxCombine) {
    return Status::Corruption("auto-forecaster state out of range (coverage " +
                              std::to_string(coverage) + ", models " + std::to_string(count) + ")");
  }
  std::vector<SmoothingModel> models(count);
  for (SmoothingModel& m : models) BACKSIGHT_RETURN_IF_ERROR(m.Restore(r));
  opt_.coverage = coverage;
  models_ = std::move(models);
  return Status::OK();
}

}  // namespace backsight::forecast
