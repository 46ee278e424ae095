// Shared by the stream engine tests: the sample clock and an episode sink that records changes.
#ifndef BACKSIGHT_TESTS_STREAM_STREAM_TEST_UTIL_H_
#define BACKSIGHT_TESTS_STREAM_STREAM_TEST_UTIL_H_

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "backsight/core/time.h"
#include "backsight/stream/engine.h"

namespace backsight::stream::testing {

/// Step between samples: 10 s (a common Prometheus scrape interval), in nanoseconds.
constexpr int64_t kStep = 10 * kNanosPerSecond;
/// Time of sample 0: 2023-11-14T22:13:20Z, in nanoseconds since the epoch.
constexpr int64_t kT0 = 1'700'000'000LL * kNanosPerSecond;

/// Records every episode change it is given, in order; `changes` is read under `mu`.
class CollectingSink : public EpisodeSink {
 public:
  void OnEpisodeChange(EpisodeChange&& c) override {
    std::lock_guard<std::mutex> lock(mu);
    changes.push_back(std::move(c));
  }
  std::mutex mu;
  std::vector<EpisodeChange> changes;
};

}  // namespace backsight::stream::testing

#endif  // BACKSIGHT_TESTS_STREAM_STREAM_TEST_UTIL_H_
