// A bounded log-linear latency histogram (the HdrHistogram layout, Gil Tene: each power of two
// split into 2^kSubBucketBits equal sub-buckets) for p50/p90/p99 of span durations, plus the
// explicit bucket counts the OpenTelemetry spanmetrics connector exports. No C/C++ sketch library
// is packaged in Debian 12 (HdrHistogram only for Java and Go), hence this small one.
#ifndef BACKSIGHT_TRACES_LATENCY_HISTOGRAM_H_
#define BACKSIGHT_TRACES_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace backsight::traces {

/// Sub-buckets per power of two as a bit count: 3 -> 8 sub-buckets, relative bucket width
/// <= 1/8, so a quantile (bucket midpoint) is within 6.25 % of a true sample value.
constexpr int kSubBucketBits = 3;
/// Octaves covered: durations 1 ns .. 2^40 ns (about 18 minutes); longer ones count in the last.
constexpr int kOctaves = 40;
constexpr int kLatencyBuckets = kOctaves << kSubBucketBits;
/// The spanmetrics connector's default explicit bucket bounds in seconds (connector/spanmetrics
/// config.go, defaultHistogramBucketsMs: 2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000,
/// 5000, 10000, 15000 ms); +Inf is implicit.
constexpr std::array<double, 16> kSpanMetricsBucketsSeconds = {
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15};

/// The Prometheus `le` label values of kSpanMetricsBucketsSeconds (FormatDouble of each bound),
/// then "+Inf".
std::vector<std::string> LeLabelValues();

/// Counts of durations in ns. 2.7 KiB per histogram; O(1) per Add.
class LatencyHistogram {
 public:
  /// Records one duration in ns (negative counts as 0).
  void Add(int64_t ns);
  /// Adds every count of `other`.
  void Merge(const LatencyHistogram& other);
  /// The q-quantile (0 < q <= 1) in ns, as the midpoint of the bucket holding it; 0 when empty.
  double Quantile(double q) const;
  uint64_t count() const { return count_; }
  /// Sum of the recorded durations in seconds.
  double sum_seconds() const { return sum_ns_ * 1e-9; }
  /// Cumulative count of durations <= kSpanMetricsBucketsSeconds[i].
  uint64_t CumulativeExplicit(size_t i) const;

 private:
  static int BucketOf(uint64_t ns);
  static double BucketMid(int b);

  std::array<uint64_t, kLatencyBuckets> counts_{};
  std::array<uint64_t, kSpanMetricsBucketsSeconds.size()> explicit_{};  // not cumulative
  uint64_t count_ = 0;
  double sum_ns_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_LATENCY_HISTOGRAM_H_
