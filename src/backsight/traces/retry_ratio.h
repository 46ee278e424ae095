// Per-bucket retry ratio of every child operation (issue 9, the "retry ratio rising above its
// normal" half of retry_storm): the calls of one (service, operation) under one parent are a call
// group; a call that follows a failed call of the same group is a retry. Groups are counted into
// the time bucket of their first call; when a group of a later bucket arrives for an operation,
// its open bucket is closed and returned (calls, retries, ratio) for the stream engine, where the
// ratio series gets its anomaly_score like any metric. The bucket logic is OperationBuckets
// (operation_buckets.h), shared with RedWindows.
#ifndef BACKSIGHT_TRACES_RETRY_RATIO_H_
#define BACKSIGHT_TRACES_RETRY_RATIO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/traces/operation_buckets.h"

namespace backsight::traces {

/// One closed bucket of one child operation.
struct RetryRatioBucket {
  std::string service;
  std::string operation;  ///< The span name of the calls.
  int64_t bucket_start_ns = 0;
  uint64_t calls = 0;
  uint64_t retries = 0;  ///< Calls that followed a failed call under the same parent.
  /// retries / calls, in [0, 1).
  double ratio() const { return calls ? static_cast<double>(retries) / calls : 0.0; }
};

/// Bounded like RedWindows: at most `max_operations` open buckets (groups of further operations
/// are dropped and counted); a group older than its operation's open bucket is late and dropped.
class RetryRatioWindows {
 public:
  /// The RED buckets' width (red_windows.h), so the ratio lines up with the error ratio.
  static constexpr int64_t kDefaultBucketNs = 60'000'000'000;
  static constexpr size_t kDefaultMaxOperations = 10000;

  explicit RetryRatioWindows(int64_t bucket_ns = kDefaultBucketNs,
                             size_t max_operations = kDefaultMaxOperations)
      : open_(bucket_ns, max_operations) {}

  /// Counts one call group (`calls` >= 1, `retries` < `calls`) whose first call started at
  /// `start_ns`; appends the bucket it closes, if any, to `*closed`.
  void Add(std::string_view service, std::string_view operation, int64_t start_ns, uint64_t calls,
           uint64_t retries, std::vector<RetryRatioBucket>* closed);
  /// Closes every open bucket that starts before `before_ns` (all with INT64_MAX), appended in
  /// (service, operation) order.
  void Flush(int64_t before_ns, std::vector<RetryRatioBucket>* closed);
  uint64_t late_groups() const { return open_.late(); }
  uint64_t dropped_groups() const { return open_.dropped(); }
  size_t open_operations() const { return open_.open_operations(); }

 private:
  struct Counts {
    uint64_t calls = 0, retries = 0;
  };
  // The closed bucket of (service, operation) that starts at bucket_start_ns.
  static RetryRatioBucket ToBucket(std::string_view service, std::string_view operation,
                                   int64_t bucket_start_ns, const Counts& c);

  OperationBuckets<Counts> open_;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_RETRY_RATIO_H_
