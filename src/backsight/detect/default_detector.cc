// The default detector.
//
// Model (raw score): three one-step predictors run side by side — naive (last value), exponentially
// weighted level (Brown's simple exponential smoothing), and level + seasonal profile once a period is
// found in the data. Each predictor's residual is scaled by its own robust scale (exponentially
// weighted mean absolute residual, updated with residuals clipped at kClip scales so that anomalies do
// not inflate the baseline). The raw score is the smallest scaled residual: a sample is surprising
// only when no predictor explains it (so a lasting level shift is scored at its onset, then absorbed).
//
// Calibration: the anomaly likelihood of Ahmad et al. (2017) over the raw scores gives a Gaussian tail
// surprise s = -log10(tail); anomaly_score = s / kSurpriseAtOne, so > 1 means a tail probability below
// 10^-kSurpriseAtOne.
//
// Decision: is_anomaly = anomaly_score > 1 after warm-up.
#include "backsight/detect/default_detector.h"

#include <algorithm>
#include <cmath>
#include <array>
#include <cstdlib>
#include <cstring>

#include "backsight/core/byte_io.h"
#include "backsight/detect/calibrator.h"
#include "backsight/detect/seasonality.h"

namespace backsight::detect {
namespace {

constexpr uint32_t kStateMagic = 0x42534430;  // "BSD0"
constexpr double kClip = 4.0;
constexpr double kLevelAlpha = 0.1;
constexpr double kScaleAlpha = 0.02;
constexpr double kSurpriseAtOne = 4.0;
constexpr int kShortWindow = 10;
constexpr double kLongAlpha = 1.0 / 2000;
constexpr int kMaxBins = 96;
constexpr double kProfileAlpha = 0.1;
constexpr int kSelect = 0;  // 0 = min over predictors, 1 = best model, 2 = seasonal when strong

/// Robust scale of a residual stream: EW mean absolute residual with clipped updates.
struct RobustScale {
  double s = 0;
  uint32_t n = 0;
  void Update(double abs_resid) {
    ++n;
    if (n == 1) { s = abs_resid; return; }
    const double a = std::max(kScaleAlpha, 1.0 / n);
    const double clipped = s > 0 ? std::min(abs_resid, kClip * s) : abs_resid;
    s += a * (clipped - s);
  }
};

class DefaultDetector final : public Detector {
 public:
  explicit DefaultDetector(const DefaultDetectorOptions& o)
      : opt_(o) {}

  Status Update(TimestampNs ts, double x, DetectionResult* r) override {
    if (!std::isfinite(x)) {
      ++st_.stats.rejected[static_cast<int>(RejectReason::kNonFiniteValue)];
      return Status::InvalidArgument("non-finite value");
    }
    if (st_.stats.accepted > 0 && ts <= st_.last_ts) {
      const RejectReason why =
          ts == st_.last_ts ? RejectReason::kDuplicateTimestamp : RejectReason::kOutOfOrder;
      ++st_.stats.rejected[static_cast<int>(why)];
      return Status::OutOfRange(RejectReasonName(why));
    }
    if (st_.stats.accepted == 0) {
      st_.level = x;
      st_.last = x;
    } else {
      const double step = static_cast<double>(ts - st_.last_ts);
      if (st_.step_ns > 0 && step > 1.5 * st_.step_ns) ++st_.stats.gaps;
      st_.step_ns = st_.step_ns == 0 ? step : st_.step_ns + 0.05 * (std::min(step, 4 * st_.step_ns) - st_.step_ns);
      const double d = std::fabs(x - st_.last);
      if (d > 0 && (st_.resolution == 0 || d < st_.resolution)) st_.resolution = d;
    }

    const double floor = std::max(st_.resolution * 0.5, 1e-9 * (std::fabs(st_.level) + 1e-12));
    const double e_naive = x - st_.last;
    const double e_level = x - st_.level;
    double z_naive = std::fabs(e_naive) / std::max(st_.naive.s, floor);
    double z_level = std::fabs(e_level) / std::max(st_.level_scale.s, floor);
    double z = std::min(z_naive, z_level);
    int bin = -1;
    double e_seas = 0;
    if (st_.period_ns > 0) {
      bin = PhaseBin(ts);
      e_seas = x - (st_.seas_level + st_.profile[bin]);
      const double z_seas = std::fabs(e_seas) / std::max(st_.seas_scale.s, floor);
      if (st_.seas_scale.n > 10) {
        if (kSelect == 0) {
          z = std::min(z, z_seas);
        } else if (kSelect == 1) {
          if (st_.seas_scale.s < std::min(st_.naive.s, st_.level_scale.s)) z = z_seas;
        } else {
          if (st_.period_finder.strength() > 0.6) z = z_seas;
          else z = std::min(z, z_seas);
        }
      }
    }
    if (st_.stats.accepted < 2) z = 0;

    const double raw = std::log1p(z);
    const double surprise = st_.likelihood.Update(raw);

    r->raw_score = raw;
    r->anomaly_score = surprise / kSurpriseAtOne;
    r->likelihood = 1.0 - std::pow(10.0, -surprise);
    r->warming_up = st_.stats.accepted < static_cast<uint64_t>(opt_.warmup_samples);
    r->is_anomaly = !r->warming_up && r->anomaly_score > 1.0;
    const double band = kClip * std::max(st_.level_scale.s, floor);
    r->yhat = st_.level;
    r->yhat_lower = st_.level - band;
    r->yhat_upper = st_.level + band;

    if (bin >= 0) {
      const double sc = std::max(st_.seas_scale.s, floor);
      const double ce = std::clamp(e_seas, -kClip * sc, kClip * sc);
      st_.seas_scale.Update(std::fabs(e_seas));
      st_.seas_level += kLevelAlpha * ce;
      st_.profile[bin] += static_cast<float>(kProfileAlpha * ce);
    }
    if (st_.period_finder.Add(ts, x)) MaybeAdoptPeriod();
    st_.naive.Update(std::fabs(e_naive));
    st_.level_scale.Update(std::fabs(e_level));
    st_.level += kLevelAlpha * e_level;
    st_.last = x;
    st_.last_ts = ts;
    ++st_.stats.accepted;
    return Status::OK();
  }

  void SaveState(std::string* out) const override {
    ByteWriter w(out);
    w.PutU32(kStateMagic);
    w.PutU32(static_cast<uint32_t>(opt_.warmup_samples));
    w.PutU64(st_.stats.accepted);
    for (uint64_t c : st_.stats.rejected) w.PutU64(c);
    w.PutU64(st_.stats.gaps);
    w.PutI64(st_.last_ts);
    w.PutDouble(st_.step_ns);
    w.PutDouble(st_.resolution);
    w.PutDouble(st_.level);
    w.PutDouble(st_.last);
    w.PutDouble(st_.naive.s);
    w.PutU32(st_.naive.n);
    w.PutDouble(st_.level_scale.s);
    w.PutU32(st_.level_scale.n);
    st_.likelihood.Save(&w);
    st_.period_finder.Save(&w);
    w.PutI64(st_.period_ns);
    w.PutU8(static_cast<uint8_t>(st_.bins));
    w.PutDouble(st_.seas_level);
    w.PutDouble(st_.seas_scale.s);
    w.PutU32(st_.seas_scale.n);
    for (int i = 0; i < st_.bins; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &st_.profile[i], 4);
      w.PutU32(bits);
    }
  }

  Status RestoreState(std::string_view in) override {
    State tmp;
    DefaultDetectorOptions tmp_opt = opt_;
    ByteReader rd(in);
    uint32_t magic, warm;
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&magic, "magic"));
    if (magic != kStateMagic) return Status::Corruption("not a default-detector state (bad magic)");
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&warm, "warmup_samples"));
    tmp_opt.warmup_samples = static_cast<int>(warm);
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU64(&tmp.stats.accepted, "accepted"));
    for (uint64_t& c : tmp.stats.rejected) BACKSIGHT_RETURN_IF_ERROR(rd.GetU64(&c, "rejected"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU64(&tmp.stats.gaps, "gaps"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetI64(&tmp.last_ts, "last_ts"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.step_ns, "step_ns"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.resolution, "resolution"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.level, "level"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.last, "last"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.naive.s, "naive.s"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&tmp.naive.n, "naive.n"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.level_scale.s, "level_scale.s"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&tmp.level_scale.n, "level_scale.n"));
    BACKSIGHT_RETURN_IF_ERROR(tmp.likelihood.Restore(&rd));
    BACKSIGHT_RETURN_IF_ERROR(tmp.period_finder.Restore(&rd));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetI64(&tmp.period_ns, "period_ns"));
    uint8_t bins;
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU8(&bins, "bins"));
    if (bins > kMaxBins || (bins == 0) != (tmp.period_ns == 0) || tmp.period_ns < 0) {
      return Status::Corruption("inconsistent seasonal state (bins/period_ns)");
    }
    tmp.bins = bins;
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.seas_level, "seas_level"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetDouble(&tmp.seas_scale.s, "seas_scale.s"));
    BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&tmp.seas_scale.n, "seas_scale.n"));
    for (int i = 0; i < tmp.bins; ++i) {
      uint32_t bits;
      BACKSIGHT_RETURN_IF_ERROR(rd.GetU32(&bits, "profile"));
      std::memcpy(&tmp.profile[i], &bits, 4);
    }
    if (!rd.done()) return Status::Corruption("trailing bytes after detector state");
    st_ = tmp;
    opt_ = tmp_opt;
    return Status::OK();
  }

  const DetectorStats& stats() const override { return st_.stats; }
  std::string_view name() const override { return "default"; }

 private:
  /// Everything that changes per sample; copied as a whole on restore.
  struct State {
    DetectorStats stats;
    TimestampNs last_ts = 0;
    double step_ns = 0;
    double resolution = 0;
    double level = 0;
    double last = 0;
    RobustScale naive;
    RobustScale level_scale;
    AnomalyLikelihood likelihood{kShortWindow, kLongAlpha, 0.1};
    PeriodFinder period_finder;
    int64_t period_ns = 0;  // active seasonal period, 0 = none
    int bins = 0;
    double seas_level = 0;
    RobustScale seas_scale;
    std::array<float, kMaxBins> profile{};
  };

  int PhaseBin(TimestampNs ts) const {
    const int64_t p = st_.period_ns;
    int64_t m = ts % p;
    if (m < 0) m += p;
    return std::min(st_.bins - 1, static_cast<int>(static_cast<double>(m) / p * st_.bins));
  }

  void MaybeAdoptPeriod() {
    const int64_t p = st_.period_finder.period_ns();
    if (p <= 0 || st_.step_ns <= 0) return;
    if (st_.period_ns > 0 && std::llabs(p - st_.period_ns) < st_.period_ns / 20) return;
    const double steps = p / st_.step_ns;
    if (steps < 4) return;
    st_.period_ns = p;
    st_.bins = std::clamp(static_cast<int>(steps), 4, kMaxBins);
    st_.period_finder.PhaseMeans(p, st_.bins, st_.profile.data());
    st_.seas_level = st_.level;
    st_.seas_scale = RobustScale{};
  }

  DefaultDetectorOptions opt_;
  State st_;
};

}  // namespace

std::unique_ptr<Detector> MakeDefaultDetector(const DefaultDetectorOptions& options) {
  return std::make_unique<DefaultDetector>(options);
}

}  // namespace backsight::detect
