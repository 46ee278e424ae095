// A consumer of the metric samples `backsight serve` accepts, besides the detection engine: the
// time-to-exhaustion tracker (exhaustion_service.h) and capacity advice (capacity_service.h).
// The server keeps one list of them, fed by the engine's sample observer (stream/engine.h,
// SetSampleObserver): every batch the engine accepts (remote_write, OTLP, scrapes, and the
// server's own trace, log and postgres series), just before it is written to the write-ahead
// log, and every record the log replays at start-up. So after a kill -9 a consumer is fed the
// samples it was fed before it, in the same order.
//
// The one rule that keeps a replay from counting twice what a consumer's restored checkpoint
// holds is the engine's (stream/engine.h, ReplayWal): a series' sample is taken only when it is
// newer than the newest sample already taken for that series, and that newest time is part of
// the saved state. The log replays records from before the last checkpoint's rotation too; their
// samples are not newer and are ignored. A consumer that holds samples back before using them
// (the exhaustion warm start while it fetches history) keeps their log segments through
// checkpoints with Engine::KeepObservedSegment until they are in its state.
#ifndef BACKSIGHT_SERVER_SAMPLE_SINK_H_
#define BACKSIGHT_SERVER_SAMPLE_SINK_H_

#include <vector>

#include "backsight/core/labels.h"

namespace backsight::server {

/// Receives every accepted metric series (live or replayed from the write-ahead log).
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  /// Feeds decoded series (samples in time order within a series). A sample not newer than the
  /// newest one taken for its series (restored ones included) must be ignored. Thread-safe.
  virtual void Observe(const std::vector<TimeSeries>& series) = 0;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_SAMPLE_SINK_H_
