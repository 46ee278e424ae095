// Period finding: a series' dominant period from its own data, online with bounded memory.
#ifndef BACKSIGHT_FORECAST_PERIOD_FINDER_H_
#define BACKSIGHT_FORECAST_PERIOD_FINDER_H_

#include <array>
#include <cstdint>
#include <cstring>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::forecast {

/// Finds the dominant period of a series online with bounded memory.
///
/// Keeps a multi-resolution summary of the whole history: kCapacity buckets, each the mean of `agg`
/// consecutive samples; when full, neighbouring buckets are merged pairwise and `agg` doubles, so
/// the summary always spans the full history. Each time the summary fills up, the autocorrelation
/// function of the (linearly detrended) bucket means is computed for every lag, and the first lag
/// at which the ACF has a local maximum above kMinAcf is taken as the period (the classic ACF
/// peak-picking of e.g. Wang, Smith, Hyndman, "Characteristic-based clustering for time series
/// data", 2006, and Vlachos et al., "On periodicity detection and structural periodic similarity",
/// SDM 2005). Periods are reported in nanoseconds; 0 means "none found".
class PeriodFinder {
 public:
  static constexpr int kCapacity = 128;

  /// Adds one sample (time in ns since the epoch, value in series units; the caller passes a
  /// winsorised value so one outlier cannot dominate a bucket, and values are clamped to +-1e37 so
  /// float buckets cannot overflow). Amortised O(1):
  /// an O(kCapacity^2) ACF runs only when the summary fills (at doubling sample counts).
  /// Returns true when the period estimate may have changed (a new analysis ran).
  bool Add(TimestampNs ts, double value);

  /// Current period estimate in ns (0 = none); its ACF strength in [-1, 1].
  int64_t period_ns() const { return period_ns_; }
  double strength() const { return strength_; }

  /// Mean of the summary buckets whose phase (for period `p` ns, binned into `bins`) is `bin`,
  /// written into out[0..bins) as deviations from the overall mean; bins with no data get 0.
  /// Used to warm-start a seasonal profile when a period is found.
  void PhaseMeans(int64_t p, int bins, float* out) const;

  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);

 private:
  void Analyse();
  std::array<float, kCapacity> sum_{};  // bucket means
  int count_ = 0;                       // full buckets
  uint32_t agg_ = 1;                    // samples per bucket
  uint32_t partial_n_ = 0;              // samples in the open bucket
  double partial_sum_ = 0;
  TimestampNs first_ts_ = 0;  // time of the first sample
  TimestampNs last_ts_ = 0;
  uint64_t n_ = 0;
  int64_t period_ns_ = 0;
  double strength_ = 0;
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_PERIOD_FINDER_H_
