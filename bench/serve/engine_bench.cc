// engine_bench: the engine alone (no HTTP, no decoding, no WAL) with the metric models of
// `backsight serve`: N gauge series, M samples per series per batch, R rounds, one worker.
// Prints CPU ns per scored sample (process CPU time, all threads, of Submit and scoring; batches
// are built untimed; the first round, which creates the series, is timed apart). Run it several
// times and compare minima: the minimum is the figure least moved by other load on the machine.
// Usage: engine_bench [--series N] [--samples M] [--rounds R] [--series-per-batch K]
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backsight/server/engine.h"
#if __has_include("backsight/server/metric_model.h")
#include "backsight/server/metric_model.h"
#define BACKSIGHT_HAS_METRIC_MODEL 1
#endif

using namespace backsight;

namespace {

double CpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  int series = 100'000, samples = 10, rounds = 10, per_batch = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--series")) series = v;
    if (!std::strcmp(argv[i], "--samples")) samples = v;
    if (!std::strcmp(argv[i], "--rounds")) rounds = v;
    if (!std::strcmp(argv[i], "--series-per-batch")) per_batch = v;
  }
  server::EngineOptions opt;
  opt.workers = 1;
  opt.queue_max_samples = 1ull << 40;  // never 429: the bench measures scoring
#ifdef BACKSIGHT_HAS_METRIC_MODEL
  opt.model_factory = server::MakeMetricModelFactory(true);
#endif
  server::Engine engine(opt, nullptr);
  engine.Start();
  constexpr int64_t kStep = 15 * kNanosPerSecond;
  const int64_t t0 = 1'700'000'000LL * kNanosPerSecond;
  // Builds round r's batches (not timed), then times Submit + scoring in CPU seconds.
  std::vector<std::vector<TimeSeries>> batches;
  auto run_round = [&](int r) {
    batches.clear();
    for (int first = 0; first < series; first += per_batch) {
      std::vector<TimeSeries>& b = batches.emplace_back();
      for (int s = first; s < std::min(series, first + per_batch); ++s) {
        TimeSeries& ts = b.emplace_back();
        ts.labels = {{"__name__", "bench_gauge"}, {"id", std::to_string(s)}};
        ts.kind = MetricKind::kGauge;
        for (int k = 0; k < samples; ++k) {
          const int i = r * samples + k;
          ts.samples.push_back({t0 + i * kStep, 50.0 + ((s * 7 + i * 13) % 17)});
        }
      }
    }
    const double c0 = CpuSeconds();
    for (auto& b : batches) {
      if (!engine.SubmitView(b).ok()) std::abort();
    }
    engine.WaitIdle(1'000'000);
    return CpuSeconds() - c0;
  };
  const double create_s = run_round(0);
  double cpu = 0;
  for (int r = 1; r < rounds; ++r) cpu += run_round(r);
  const double n = static_cast<double>(series) * samples * (rounds - 1);
  std::printf(
      "ENGINE: %d series x %d samples x %d rounds: %.1f ns CPU per sample (submit + score); "
      "first round (creates the series) %.1f ns/sample; processed %llu\n",
      series, samples, rounds, cpu / n * 1e9,
      create_s / (static_cast<double>(series) * samples) * 1e9,
      static_cast<unsigned long long>(engine.stats().samples_processed));
  engine.Stop();
  return 0;
}
