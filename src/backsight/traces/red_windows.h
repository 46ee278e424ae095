// Per-bucket RED of every (service, operation), for the stream engine's detectors: spans are
// counted into the time bucket of their start; when a span of a later bucket arrives for an
// operation, the operation's open bucket is closed and returned as one RedBucket (calls, errors,
// p99). Buckets left open by operations that fall silent are closed by Flush. The bucket logic
// is OperationBuckets (operation_buckets.h), shared with RetryRatioWindows.
#ifndef BACKSIGHT_TRACES_RED_WINDOWS_H_
#define BACKSIGHT_TRACES_RED_WINDOWS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/ingest/span_batch.h"
#include "backsight/traces/latency_histogram.h"
#include "backsight/traces/operation_buckets.h"

namespace backsight::traces {

/// One closed bucket of one operation.
struct RedBucket {
  std::string service;
  std::string operation;
  int64_t bucket_start_ns = 0;
  uint64_t calls = 0;
  uint64_t errors = 0;  ///< Spans with status ERROR.
  double p99_seconds = 0;
};

/// Bounded: at most `max_operations` open buckets (spans of further operations are dropped and
/// counted); a span older than its operation's open bucket is counted as late and dropped.
class RedWindows {
 public:
  /// Default bucket: 60 s, the scrape-like resolution at which rates and p99 are stable for
  /// low-traffic operations (Nezha's Train Ticket: ~1 request/s per entry operation).
  static constexpr int64_t kDefaultBucketNs = 60'000'000'000;
  static constexpr size_t kDefaultMaxOperations = 10000;

  explicit RedWindows(int64_t bucket_ns = kDefaultBucketNs,
                      size_t max_operations = kDefaultMaxOperations)
      : open_(bucket_ns, max_operations) {}

  /// Counts `span`; appends the buckets it closes to `*closed`.
  void Add(const ingest::Span& span, std::vector<RedBucket>* closed);
  /// Closes every open bucket that starts before `before_ns` (all with INT64_MAX).
  void Flush(int64_t before_ns, std::vector<RedBucket>* closed);
  uint64_t late_spans() const { return open_.late(); }
  uint64_t dropped_spans() const { return open_.dropped(); }
  size_t open_operations() const { return open_.open_operations(); }

 private:
  struct Counts {
    uint64_t errors = 0;
    LatencyHistogram hist;
  };
  // The closed bucket of (service, operation) that starts at bucket_start_ns.
  static RedBucket ToBucket(std::string_view service, std::string_view operation,
                            int64_t bucket_start_ns, const Counts& c);

  OperationBuckets<Counts> open_;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_RED_WINDOWS_H_
