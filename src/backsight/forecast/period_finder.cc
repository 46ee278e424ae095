#include "backsight/forecast/period_finder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <vector>

#include "backsight/forecast/detrend.h"

namespace backsight::forecast {

namespace {
constexpr double kMinAcf = 0.5;
constexpr int kMinCycles = 3;  // the summary must span at least this many periods
// Values are clamped to +-kMaxValue: bucket means are floats (max 3.4e38), and squares of detrended
// buckets summed over kCapacity lags must stay finite in double.
constexpr double kMaxValue = 1e37;
}  // namespace

bool PeriodFinder::Add(TimestampNs ts, double value) {
  if (n_ == 0) first_ts_ = ts;
  last_ts_ = ts;
  ++n_;
  partial_sum_ += std::clamp(value, -kMaxValue, kMaxValue);
  if (++partial_n_ < agg_) return false;
  sum_[count_++] = static_cast<float>(partial_sum_ / partial_n_);
  partial_sum_ = 0;
  partial_n_ = 0;
  if (count_ < kCapacity) return false;
  Analyse();
  for (int i = 0; i < kCapacity / 2; ++i) sum_[i] = 0.5f * (sum_[2 * i] + sum_[2 * i + 1]);
  count_ = kCapacity / 2;
  agg_ *= 2;
  return true;
}

void PeriodFinder::Analyse() {
  const int n = count_;
  // Linear detrend (least squares) so a trend does not look like a long period.
  std::array<double, kCapacity> y;
  for (int i = 0; i < n; ++i) y[i] = sum_[i];
  DetrendLinear(std::span<double>(y.data(), n));
  double var = 0;
  for (int i = 0; i < n; ++i) var += y[i] * y[i];
  if (var <= 0) return;
  std::array<double, kCapacity> acf{};
  const int max_lag = n / kMinCycles;
  for (int lag = 1; lag <= max_lag; ++lag) {
    double c = 0;
    for (int i = 0; i + lag < n; ++i) c += y[i] * y[i + lag];
    acf[lag] = c / var * n / (n - lag);  // unbiased-ish normalisation
  }
  // Highest local maximum of the ACF above kMinAcf (lag 1 excluded: it only says "smooth").
  int best = -1;
  for (int lag = 2; lag < max_lag; ++lag) {
    if (acf[lag] > kMinAcf && acf[lag] >= acf[lag - 1] && acf[lag] >= acf[lag + 1] &&
        (best < 0 || acf[lag] > acf[best] + 0.05)) {
      best = lag;
    }
  }
  // A period found earlier at a finer resolution is kept unless this one is clearly stronger
  // (coarser summaries alias short periods away; they must not erase them).
  if (best < 0 || (period_ns_ != 0 && acf[best] < strength_ + 0.1)) return;
  // Refine with a parabola through the peak, then convert buckets to ns.
  const double a = acf[best - 1], b = acf[best], c = acf[best + 1];
  const double den = a - 2 * b + c;
  const double off = den != 0 ? std::clamp(0.5 * (a - c) / den, -0.5, 0.5) : 0.0;
  const double step_ns =
      n_ > 1 ? static_cast<double>(last_ts_ - first_ts_) / static_cast<double>(n_ - 1) : 0;
  double p = (best + off) * agg_ * step_ns;
  // Calendar periods are by far the most common in telemetry: snap to an hour, a day or a week
  // when the estimate is within the bucket resolution of one.
  const double kCal[] = {3600e9, 86400e9, 604800e9};
  for (double cal : kCal) {
    if (std::fabs(p - cal) <= std::max(0.03 * cal, agg_ * step_ns)) p = cal;
  }
  period_ns_ = static_cast<int64_t>(std::llround(p));
  strength_ = b;
}

void PeriodFinder::PhaseMeans(int64_t p, int bins, float* out) const {
  std::vector<double> s(bins, 0.0);
  std::vector<int> c(bins, 0);
  const double step_ns =
      n_ > 1 ? static_cast<double>(last_ts_ - first_ts_) / static_cast<double>(n_ - 1) : 0;
  double mean = 0;
  for (int i = 0; i < count_; ++i) mean += sum_[i];
  mean = count_ ? mean / count_ : 0;
  for (int i = 0; i < count_; ++i) {
    const double t = first_ts_ + (i * double(agg_) + 0.5 * (agg_ - 1)) * step_ns;
    double ph = std::fmod(t, double(p)) / double(p);
    if (ph < 0) ph += 1;
    const int b = std::min(bins - 1, static_cast<int>(ph * bins));
    s[b] += sum_[i] - mean;
    ++c[b];
  }
  for (int b = 0; b < bins; ++b) out[b] = c[b] ? static_cast<float>(s[b] / c[b]) : 0.0f;
}

void PeriodFinder::Save(ByteWriter* w) const {
  w->PutU8(static_cast<uint8_t>(count_));
  for (int i = 0; i < count_; ++i) {
    uint32_t bits;
    static_assert(sizeof(float) == 4);
    std::memcpy(&bits, &sum_[i], 4);
    w->PutU32(bits);
  }
  w->PutU32(agg_);
  w->PutU32(partial_n_);
  w->PutDouble(partial_sum_);
  w->PutI64(first_ts_);
  w->PutI64(last_ts_);
  w->PutU64(n_);
  w->PutI64(period_ns_);
  w->PutDouble(strength_);
}

Status PeriodFinder::Restore(ByteReader* r) {
  uint8_t c;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&c, "period.count"));
  if (c >= kCapacity) return Status::Corruption("period.count out of range");
  count_ = c;
  for (int i = 0; i < count_; ++i) {
    uint32_t bits;
    BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&bits, "period.bucket"));
    std::memcpy(&sum_[i], &bits, 4);
  }
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&agg_, "period.agg"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&partial_n_, "period.partial_n"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&partial_sum_, "period.partial_sum"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&first_ts_, "period.first_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&last_ts_, "period.last_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&n_, "period.n"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&period_ns_, "period.period_ns"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&strength_, "period.strength"));
  if (agg_ == 0) return Status::Corruption("period.agg is zero");
  return Status::OK();
}

}  // namespace backsight::forecast
