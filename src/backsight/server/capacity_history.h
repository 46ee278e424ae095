// The stored form of one capacity demand series (server/capacity_service.h): its labels, the
// rule's step, the closed bucket means the forecaster is refitted from, the open bucket and the
// refit schedule. Written to the `capacity` table of the state database at checkpoints and read
// back at start-up, so that advice (and its daily seasonality) survives a restart. The model
// itself is not stored: it is refitted from the buckets. Layout: docs/formats.md §5g (`BSCH` v2;
// v1 rows, without the newest sample's time, are still read).
#ifndef BACKSIGHT_SERVER_CAPACITY_HISTORY_H_
#define BACKSIGHT_SERVER_CAPACITY_HISTORY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::server {

/// Buckets kept per demand series for refits: a week of the default 5-minute step, so that the
/// daily and weekly periods can both be found (FindPeriods needs 3 cycles of a period, 2 weeks
/// for weekly; a week keeps refits cheap and still finds the daily one). Also the most a stored
/// row may hold.
inline constexpr size_t kMaxCapacityHistory = 2016;

/// One demand series' bucket history, as stored.
struct CapacityHistory {
  Labels labels;                    ///< the demand series' labels (with `__name__`)
  int64_t step_ms = 0;              ///< the rule's bucket width, ms (> 0)
  int64_t open_bucket = INT64_MIN;  ///< index (ts / step) of the open bucket; INT64_MIN = none
  double open_sum = 0;              ///< sum of the open bucket's samples, series units
  uint64_t open_count = 0;          ///< samples in the open bucket
  TimestampNs last_bucket_end = 0;  ///< end of the last closed bucket, ns since the epoch
  uint64_t fitted_at = 0;           ///< buckets at the last successful fit; 0 = never fitted
  uint64_t since_fit = 0;           ///< buckets closed since that fit
  std::vector<double> buckets;      ///< closed bucket means, oldest first (≤ kMaxCapacityHistory)
  /// Newest sample taken, ns since the epoch (INT64_MIN = none); a replayed sample not newer is
  /// ignored (server/sample_sink.h). A v1 row reads as the last ns of its open bucket (or of its
  /// last closed one): a later sample of that bucket is then ignored rather than counted twice.
  TimestampNs last_sample_ts = INT64_MIN;
};

/// Appends the `BSCH` v2 encoding of `h` to `out` (docs/formats.md §5g).
void EncodeCapacityHistory(const CapacityHistory& h, std::string* out);
/// Decodes bytes written by EncodeCapacityHistory (v2, or v1 of the previous release) into `*h`.
/// Returns Corruption naming the field or byte offset when the bytes are short, have another magic
/// or version, a step ≤ 0 or past int64 ns, an open bucket whose end is past int64 ns, a
/// non-finite open_sum, an open_count past INT_MAX, more than kMaxCapacityHistory buckets, a
/// non-finite bucket, or trailing bytes. A row accepted is one CapacityService computes on without
/// overflow.
Status DecodeCapacityHistory(std::string_view in, CapacityHistory* h);

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_CAPACITY_HISTORY_H_
