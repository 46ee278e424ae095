// Throughput of TteEstimator::Update (one series, one core): a memory leak with a GC sawtooth
// sampled every minute (the refit runs once per 60 samples) and a disk fill every 5 minutes.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "backsight/forecast/tte.h"

namespace {

using backsight::kNanosPerSecond;

std::vector<double> Series(int n, int step_s) {
  std::vector<double> v(n);
  uint32_t x = 12345;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;  // Numerical Recipes LCG: cheap deterministic noise
    double noise = (x >> 8) / static_cast<double>(1 << 24) - 0.5;
    double t = static_cast<double>(i) * step_s;
    v[i] = 400 + 1e-4 * t + 50 * std::fmod(t / 1200.0, 1.0) + 5 * noise;
  }
  return v;
}

void Run(benchmark::State& state, int step_s) {
  constexpr int kN = 1 << 16;
  std::vector<double> v = Series(kN, step_s);
  backsight::forecast::TteEstimator est(1000);
  int64_t ts = 1'700'000'000LL * kNanosPerSecond;
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(est.Update(ts, v[i]));
    ts += step_s * kNanosPerSecond;
    if (++i == kN) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  std::string s;
  est.SaveState(&s);
  state.counters["state_bytes"] = static_cast<double>(s.size());
}

void BM_TteUpdate1m(benchmark::State& state) { Run(state, 60); }
void BM_TteUpdate5m(benchmark::State& state) { Run(state, 300); }
BENCHMARK(BM_TteUpdate1m);
BENCHMARK(BM_TteUpdate5m);

}  // namespace

BENCHMARK_MAIN();
