// Per-series counter → rate conversion with reset handling.
#ifndef BACKSIGHT_INGEST_COUNTER_RATE_H_
#define BACKSIGHT_INGEST_COUNTER_RATE_H_

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::ingest {

/// Turns successive samples of one monotonic counter into a per-second rate, treating a drop in
/// value as a counter reset as Prometheus' rate()/increase() do (the increase across a reset is
/// the new value, i.e. the counter restarted from 0). Unlike rate() over a range, the rate is
/// between consecutive samples, without extrapolation. O(1) time and 24 bytes of state.
class CounterRate {
 public:
  /// Feeds one sample (`ts` in ns, `value` the counter reading). Returns true and sets
  /// *rate_per_s = increase / elapsed seconds when a previous sample exists; returns false for
  /// the first sample, for a sample not newer than the previous one (ignored, state kept), and
  /// for a non-finite value (NaN staleness marker or ±Inf), which also forgets the previous
  /// sample so that the next one starts afresh.
  bool Update(TimestampNs ts, double value, double* rate_per_s);

  /// Forgets the previous sample.
  void Reset() { primed_ = false; }

  /// True if a previous sample is held.
  bool primed() const { return primed_; }
  /// Timestamp of the previous sample (meaningful when primed()).
  TimestampNs last_ts() const { return last_ts_; }
  /// Number of resets (value drops) seen since construction.
  uint64_t resets() const { return resets_; }

  /// Serialises the state (for checkpoints) / restores it; Load returns Corruption on bad bytes.
  void Save(ByteWriter* w) const;
  Status Load(ByteReader* r);

 private:
  TimestampNs last_ts_ = 0;
  double last_value_ = 0;
  bool primed_ = false;
  uint64_t resets_ = 0;
};

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_COUNTER_RATE_H_
