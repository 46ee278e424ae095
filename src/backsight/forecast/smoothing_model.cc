#include "backsight/forecast/smoothing_model.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

namespace backsight::forecast {
namespace {

// State format of a SmoothingModel: magic "BSM1" then version 1 (docs/formats.md).
constexpr uint32_t kMagic = 0x42534d31;
constexpr uint32_t kVersion = 1;
constexpr double kClip = RobustScale::kClip;  // Huber clipping of errors, in robust scales
// sigma / mean absolute error for Gaussian errors: sqrt(pi / 2).
constexpr double kSigmaPerMae = 1.2533141373155003;
// Periods above this many samples are refused on restore (a week of minutes).
constexpr int kMaxPeriod = 10080;
// Smallest error scale, relative to the level, so a constant series still gets a finite band.
constexpr double kRelativeScaleFloor = 1e-9;

// Per-phase means of r[i] (NaN = no value) for period p, centred to zero mean, aligned so index
// i mod p is the phase of r[i].
std::vector<double> PhaseMeans(const std::vector<double>& r, int p) {
  std::vector<double> sum(p, 0.0);
  std::vector<int> cnt(p, 0);
  for (size_t i = 0; i < r.size(); ++i) {
    if (std::isnan(r[i])) continue;
    sum[i % p] += r[i];
    ++cnt[i % p];
  }
  double mean = 0;
  int have = 0;
  for (int j = 0; j < p; ++j) {
    if (cnt[j] > 0) {
      sum[j] /= cnt[j];
      mean += sum[j];
      ++have;
    }
  }
  mean = have ? mean / have : 0;
  for (int j = 0; j < p; ++j) sum[j] = cnt[j] > 0 ? sum[j] - mean : 0.0;
  return sum;
}

// Centred moving average of length p (2 x p for even p, as R's decompose); NaN where undefined.
// O(n) with a running sum.
std::vector<double> CentredMovingAverage(const std::vector<double>& y, int p) {
  const int n = static_cast<int>(y.size());
  std::vector<double> t(n, NAN);
  const int half = p / 2;
  if (n < p + 1) return t;
  double run = 0;  // sum of y[i - half + 1 .. i + half - 1] (even p) or y[i - half .. i + half]
  const int lo0 = p % 2 == 0 ? 1 : 0;
  for (int k = lo0; k < p - lo0; ++k) run += y[k];
  for (int i = half; i + half < n; ++i) {
    if (i > half) run += y[i + half - lo0] - y[i - half - 1 + lo0];
    const double s = p % 2 == 0 ? run + 0.5 * (y[i - half] + y[i + half]) : run;
    t[i] = s / p;
  }
  return t;
}

}  // namespace

SmoothingModel::SmoothingModel(const SmoothingConfig& config) : cfg_(config) {
  if (cfg_.period1 > 1) s1_.assign(cfg_.period1, 0.0);
  if (cfg_.period2 > 1) s2_.assign(cfg_.period2, 0.0);
}

double SmoothingModel::Transform(double x) const {
  // A log model meeting 0 or a negative value learns the log of the smallest positive double
  // (-708): a huge error that the Huber clipping bounds, so the state stays finite.
  return cfg_.log ? std::log(std::max(x, DBL_MIN)) : x;
}

void SmoothingModel::Initialise(std::span<const double> x) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = Transform(x[i]);
  const int p1 = static_cast<int>(s1_.size());
  const int p2 = static_cast<int>(s2_.size());
  if (p1 > 0) {
    // Trend by a centred moving average over the longest period, which averages out both cycles
    // (its length is a multiple of the shorter period).
    const std::vector<double> tr = CentredMovingAverage(y, std::max(p1, p2));
    std::vector<double> r(y.size());
    for (size_t i = 0; i < y.size(); ++i) r[i] = y[i] - tr[i];
    s1_ = PhaseMeans(r, p1);
    if (p2 > 0) {
      for (size_t i = 0; i < y.size(); ++i) r[i] -= s1_[i % p1];
      s2_ = PhaseMeans(r, p2);
    }
  }
  const size_t first = std::min<size_t>(y.size(), std::max(p1, 1));
  double l = 0;
  for (size_t i = 0; i < first; ++i) {
    l += y[i] - (p1 > 0 ? s1_[i % p1] : 0.0) - (p2 > 0 ? s2_[i % p2] : 0.0);
  }
  level_ = first ? l / first : 0;
  trend_ = 0;
}

double SmoothingModel::Seasonal(int ahead) const {
  const uint64_t t = n_ + ahead;
  double s = 0;
  if (!s1_.empty()) s += s1_[t % s1_.size()];
  if (!s2_.empty()) s += s2_[t % s2_.size()];
  return s;
}

double SmoothingModel::Update(double x) {
  const double y = Transform(x);
  const double damped = cfg_.trend == TrendKind::kDamped ? cfg_.phi * trend_ : 0.0;
  double seas = 0;
  if (!s1_.empty()) seas += s1_[pos1_];
  if (!s2_.empty()) seas += s2_[pos2_];
  const double pred = level_ + damped + seas;
  const double e = y - pred;
  const double floor = kRelativeScaleFloor * (std::fabs(level_) + 1e-12);
  const double sc = std::max(scale_.s, floor);
  // Before a scale exists (the first error) nothing is clipped.
  const double ce = scale_.n == 0 ? e : std::clamp(e, -kClip * sc, kClip * sc);
  scale_.Update(std::fabs(e));
  level_ = level_ + damped + cfg_.alpha * ce;
  if (cfg_.trend == TrendKind::kDamped) trend_ = damped + cfg_.beta * ce;
  if (!s1_.empty()) {
    s1_[pos1_] += cfg_.gamma1 * ce;
    if (++pos1_ == s1_.size()) pos1_ = 0;
  }
  if (!s2_.empty()) {
    s2_[pos2_] += cfg_.gamma2 * ce;
    if (++pos2_ == s2_.size()) pos2_ = 0;
  }
  if (cfg_.trend == TrendKind::kTheta) {
    const double tt = static_cast<double>(n_);
    st_ += tt;
    sx_ += y;
    stt_ += tt * tt;
    stx_ += tt * y;
  }
  ++n_;
  return e;
}

void SmoothingModel::Forecast(double z, std::span<ForecastPoint> out) const {
  double slope = 0;  // per-step drift of the Theta method
  if (cfg_.trend == TrendKind::kTheta && n_ > 2) {
    const double n = static_cast<double>(n_);
    const double den = n * stt_ - st_ * st_;
    if (den > 0) slope = 0.5 * (n * stx_ - st_ * sx_) / den;
  }
  const double sigma = interval_scale_ * kSigmaPerMae *
                       std::max(scale_.s, kRelativeScaleFloor * (std::fabs(level_) + 1e-12));
  const int p1 = static_cast<int>(s1_.size());
  const int p2 = static_cast<int>(s2_.size());
  double phi_sum = 0;  // phi + ... + phi^k
  double phi_k = 1;
  double var_sum = 0;  // sum_{j<k} c_j^2
  for (size_t k = 0; k < out.size(); ++k) {
    double mean = level_ + Seasonal(static_cast<int>(k));
    if (cfg_.trend == TrendKind::kDamped) {
      phi_k *= cfg_.phi;
      phi_sum += phi_k;
      mean += phi_sum * trend_;
    } else if (cfg_.trend == TrendKind::kTheta) {
      // Hyndman & Billah 2003: l_n + b/2 (h - 1 + 1/alpha) for the h-th step.
      mean += slope * (static_cast<double>(k) + 1.0 / std::max(cfg_.alpha, 1e-3));
    }
    if (k > 0) {
      const int j = static_cast<int>(k);
      double c = cfg_.alpha;
      if (cfg_.trend == TrendKind::kDamped) c += cfg_.beta * (phi_sum - phi_k);
      if (p1 > 0 && j % p1 == 0) c += cfg_.gamma1;
      if (p2 > 0 && j % p2 == 0) c += cfg_.gamma2;
      var_sum += c * c;
    }
    const double half = z * sigma * std::sqrt(1.0 + var_sum);
    if (cfg_.log) {
      out[k] = {std::exp(mean), std::exp(mean - half), std::exp(mean + half)};
    } else {
      out[k] = {mean, mean - half, mean + half};
    }
  }
}

void SmoothingModel::Save(ByteWriter* w) const {
  w->PutU32(kMagic);
  w->PutU32(kVersion);
  w->PutU8(static_cast<uint8_t>(cfg_.trend));
  w->PutU8(cfg_.log ? 1 : 0);
  w->PutU32(static_cast<uint32_t>(cfg_.period1));
  w->PutU32(static_cast<uint32_t>(cfg_.period2));
  for (double v : {cfg_.alpha, cfg_.beta, cfg_.phi, cfg_.gamma1, cfg_.gamma2}) w->PutDouble(v);
  for (double v : {interval_scale_, level_, trend_, st_, sx_, stt_, stx_}) w->PutDouble(v);
  w->PutU64(n_);
  scale_.Save(w);
  for (double v : s1_) w->PutDouble(v);
  for (double v : s2_) w->PutDouble(v);
}

Status SmoothingModel::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetStateHeader(kMagic, kVersion, "smoothing-model state"));
  SmoothingConfig c;
  uint8_t trend, log;
  uint32_t p1, p2;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&trend, "trend"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&log, "log"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&p1, "period1"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&p2, "period2"));
  if (trend > 2 || log > 1 || p1 > kMaxPeriod || p2 > kMaxPeriod) {
    return Status::Corruption("smoothing-model configuration out of range (trend " +
                              std::to_string(trend) + ", periods " + std::to_string(p1) + ", " +
                              std::to_string(p2) + ")");
  }
  c.trend = static_cast<TrendKind>(trend);
  c.log = log == 1;
  c.period1 = static_cast<int>(p1);
  c.period2 = static_cast<int>(p2);
  for (double* v : {&c.alpha, &c.beta, &c.phi, &c.gamma1, &c.gamma2}) {
    BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(v, "smoothing weight"));
  }
  SmoothingModel m(c);
  for (double* v : {&m.interval_scale_, &m.level_, &m.trend_, &m.st_, &m.sx_, &m.stt_, &m.stx_}) {
    BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(v, "smoothing state"));
  }
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&m.n_, "samples"));
  if (!m.s1_.empty()) m.pos1_ = m.n_ % m.s1_.size();
  if (!m.s2_.empty()) m.pos2_ = m.n_ % m.s2_.size();
  BACKSIGHT_RETURN_IF_ERROR(m.scale_.Restore(r));
  for (double& v : m.s1_) BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&v, "seasonal1"));
  for (double& v : m.s2_) BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&v, "seasonal2"));
  *this = std::move(m);
  return Status::OK();
}

}  // namespace backsight::forecast
