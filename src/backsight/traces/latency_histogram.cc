#include "backsight/traces/latency_histogram.h"

#include <bit>
#include <cmath>

#include "backsight/core/number_format.h"

namespace backsight::traces {

std::vector<std::string> LeLabelValues() {
  std::vector<std::string> le;
  le.reserve(kSpanMetricsBucketsSeconds.size() + 1);
  for (double b : kSpanMetricsBucketsSeconds) le.push_back(FormatDouble(b));
  le.push_back("+Inf");
  return le;
}

int LatencyHistogram::BucketOf(uint64_t ns) {
  constexpr uint64_t kSub = 1u << kSubBucketBits;
  if (ns < kSub) return static_cast<int>(ns);  // octaves below 2^kSubBucketBits: exact
  const int exp = std::bit_width(ns) - 1;      // >= kSubBucketBits
  const int sub = static_cast<int>((ns >> (exp - kSubBucketBits)) & (kSub - 1));
  const int b = ((exp - kSubBucketBits + 1) << kSubBucketBits) + sub;
  return b < kLatencyBuckets ? b : kLatencyBuckets - 1;
}

double LatencyHistogram::BucketMid(int b) {
  constexpr int kSub = 1 << kSubBucketBits;
  if (b < kSub) return b;
  const int exp = (b >> kSubBucketBits) + kSubBucketBits - 1;
  const int sub = b & (kSub - 1);
  const double width = std::ldexp(1.0, exp - kSubBucketBits);
  return std::ldexp(1.0, exp) + (sub + 0.5) * width;
}

void LatencyHistogram::Add(int64_t ns) {
  const uint64_t v = ns > 0 ? static_cast<uint64_t>(ns) : 0;
  ++counts_[BucketOf(v)];
  ++count_;
  sum_ns_ += static_cast<double>(v);
  const double s = v * 1e-9;
  for (size_t i = 0; i < explicit_.size(); ++i) {
    if (s <= kSpanMetricsBucketsSeconds[i]) {
      ++explicit_[i];
      break;
    }
  }
}

void LatencyHistogram::Merge(const LatencyHistogram& o) {
  for (int i = 0; i < kLatencyBuckets; ++i) counts_[i] += o.counts_[i];
  for (size_t i = 0; i < explicit_.size(); ++i) explicit_[i] += o.explicit_[i];
  count_ += o.count_;
  sum_ns_ += o.sum_ns_;
}

double LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  // Rank of the q-quantile (nearest-rank definition), 1-based.
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (int b = 0; b < kLatencyBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank && counts_[b] > 0) return BucketMid(b);
  }
  return BucketMid(kLatencyBuckets - 1);
}

uint64_t LatencyHistogram::CumulativeExplicit(size_t i) const {
  uint64_t c = 0;
  for (size_t k = 0; k <= i && k < explicit_.size(); ++k) c += explicit_[k];
  return c;
}

}  // namespace backsight::traces
