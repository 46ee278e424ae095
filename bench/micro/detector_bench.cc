// Micro-benchmark of the default detector's per-sample cost.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "backsight/detect/default_detector.h"

namespace {

void BM_DefaultDetectorUpdate(benchmark::State& state) {
  std::vector<double> xs(1 << 16);
  uint64_t s = 88172645463325252ull;
  for (size_t i = 0; i < xs.size(); ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    xs[i] = 100 + 10 * std::sin(2 * M_PI * i / 288.0) + (s % 1000) / 100.0;
  }
  auto d = backsight::detect::MakeDefaultDetector();
  backsight::detect::DetectionResult r;
  int64_t ts = 0;
  size_t i = 0;
  for (auto _ : state) {
    ts += 300'000'000'000LL;
    // Timestamps strictly increase and values are finite: every sample is accepted.
    const backsight::Status st = d->Update(ts, xs[i++ & (xs.size() - 1)], &r);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DefaultDetectorUpdate);

}  // namespace

BENCHMARK_MAIN();
