// The per-key model the stream engine runs, and the factory that makes one for each new key.
//
// The engine (stream/engine.h) owns one Model per key (a label set: a metric series, a log
// template's count series, a trace RED series, ...) and feeds it that key's samples in time
// order, from one worker thread at a time. What the model does with a sample (detect, count,
// forecast) is its own business; the engine keeps the bookkeeping every model shares: last
// result, episodes, warm-up gauge, checkpoints, WAL replay, eviction.
#ifndef BACKSIGHT_STREAM_MODEL_H_
#define BACKSIGHT_STREAM_MODEL_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/detect/detector.h"

namespace backsight::stream {

/// What a model made of one accepted sample.
struct ModelOutput {
  /// False when the sample was consumed without a result (e.g. a counter's first reading, which
  /// only starts a rate); then `value` and `result` are not meaningful.
  bool scored = false;
  /// The value the model scored, in the key's output units (the rate for a counter).
  double value = 0;
  /// Score, expected value and band, flags; `is_anomaly` opens an episode, `warming_up` holds
  /// the key in the warm-up gauge.
  detect::DetectionResult result;
};

/// One key's model. Not thread-safe: the engine calls it from one thread at a time.
class Model {
 public:
  virtual ~Model() = default;

  /// Feeds one sample (`ts` ns since the epoch, `value` in the key's units). Returns OK and
  /// fills `*out` (scored or not); returns the refusal (a Reason of detect::kRejectReasons:
  /// NaN/inf, duplicate or out-of-order timestamp) with the state unchanged. Must not allocate
  /// on the steady path: the engine calls it once per sample.
  virtual Status Update(TimestampNs ts, double value, ModelOutput* out) = 0;

  /// Appends the complete state to `*out`; RestoreState of it into a model from the same
  /// factory gives bit-identical outputs for any later input. Versioned by the model.
  virtual void SaveState(std::string* out) const = 0;
  /// Replaces the state with one from SaveState. Corruption (field and offset) on bad bytes.
  virtual Status RestoreState(std::string_view in) = 0;

  /// Samples scored since creation (saved with the state).
  virtual uint64_t accepted() const = 0;
  /// Samples refused since creation (saved with the state).
  virtual uint64_t rejected() const = 0;
  /// Accepted samples before a result may be anomalous (0: no warm-up).
  virtual uint64_t warmup_samples() const { return 0; }
  /// True when the model scores a transform of its input that is a per-second rate (shown as
  /// `counter_as_rate` by the JSON API).
  virtual bool input_is_rate() const { return false; }
  /// Timestamp of the newest sample held beyond the last scored one (a counter's previous
  /// reading), or the minimum when none: WAL replay skips samples up to it after a restore.
  virtual TimestampNs held_until_ts() const { return std::numeric_limits<TimestampNs>::min(); }

  /// Memory the next Update reads first when the model keeps it out of line (e.g. a detector
  /// held by pointer), or null. The engine prefetches it a few keys ahead so that cache miss
  /// overlaps others; non-virtual, so reading it costs no miss of its own.
  const void* hot_state() const { return hot_state_; }

 protected:
  const void* hot_state_ = nullptr;  ///< set by models with out-of-line state
};

/// Makes the model of a new key. Called from worker threads: must be thread-safe.
class ModelFactory {
 public:
  virtual ~ModelFactory() = default;
  /// A fresh model for the key `labels` (sorted; `__name__` included when present) whose sender
  /// declared `kind` (kUnknown when it did not; restores pass kUnknown and then RestoreState).
  /// Null refuses the key (counted like the series cap).
  virtual std::unique_ptr<Model> Create(const Labels& labels, MetricKind kind) const = 0;
};

}  // namespace backsight::stream

#endif  // BACKSIGHT_STREAM_MODEL_H_
