// Time to write the per-series outputs of GET /metrics (anomaly_score, yhat, yhat_lower,
// yhat_upper per series) for N series: the hand writer of metrics_writer.h against prometheus-cpp
// (a Family<Gauge> per output, set from the scores, then Registry::Collect + TextSerializer).
// Decides whether the per-series outputs can go through the self-metrics registry too.
//   build/bench/micro/metrics_write_bench [--benchmark_filter=...]   (series count = the argument)
#include <benchmark/benchmark.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <string>
#include <vector>

#include "backsight/core/number_format.h"
#include "backsight/server/alerts.h"
#include "backsight/server/metrics_writer.h"

namespace backsight::server {
namespace {

constexpr const char* kNames[4] = {"anomaly_score", "yhat", "yhat_lower", "yhat_upper"};

struct FakeSeries {
  Labels labels;
  double values[4];
};

// node_exporter-like series: 6 labels with the name, every label set distinct.
std::vector<FakeSeries> MakeSeries(int n) {
  std::vector<FakeSeries> out(n);
  for (int i = 0; i < n; ++i) {
    out[i].labels = {{"__name__", "node_cpu_seconds_total"},
                     {"cpu", std::to_string(i % 512)},  // unique with instance
                     {"instance", "host-" + std::to_string(i / 512) + ".example.org:9100"},
                     {"job", "node"},
                     {"mode", i % 2 ? "user" : "system"},
                     {"region", "eu-west-" + std::to_string(i % 3)}};
    for (int f = 0; f < 4; ++f) out[i].values[f] = 0.001 * i + 0.37 * f;
  }
  return out;
}

// The loop of WriteSeriesMetrics over the same public pieces (HELP/TYPE, OutputLabels,
// AppendLabelSet, AppendDouble).
void BM_HandWriter(benchmark::State& state) {
  const auto series = MakeSeries(static_cast<int>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (int f = 0; f < 4; ++f) {
      out += "# HELP ";
      out += kNames[f];
      out += " help\n# TYPE ";
      out += kNames[f];
      out += " gauge\n";
      for (const FakeSeries& s : series) {
        out += kNames[f];
        AppendLabelSet(OutputLabels(s.labels), &out);
        out.push_back(' ');
        AppendDouble(s.values[f], &out);
        out.push_back('\n');
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
  state.counters["series/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

prometheus::Labels ToPromLabels(const Labels& labels) {
  prometheus::Labels out;
  for (const Label& l : OutputLabels(labels)) out.emplace(l.name, l.value);
  return out;
}

// A registry kept across scrapes: each scrape sets every gauge (found by its labels, as the
// engine holds no prometheus objects), then collects and serializes.
void BM_PrometheusCpp(benchmark::State& state) {
  const auto series = MakeSeries(static_cast<int>(state.range(0)));
  std::vector<prometheus::Labels> prom_labels;
  for (const FakeSeries& s : series) prom_labels.push_back(ToPromLabels(s.labels));
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>* families[4];
  for (int f = 0; f < 4; ++f) {
    families[f] = &prometheus::BuildGauge().Name(kNames[f]).Help("help").Register(*registry);
  }
  std::string out;
  for (auto _ : state) {
    for (int f = 0; f < 4; ++f) {
      for (size_t i = 0; i < series.size(); ++i) {
        families[f]->Add(prom_labels[i]).Set(series[i].values[f]);
      }
    }
    out = prometheus::TextSerializer().Serialize(registry->Collect());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
  state.counters["series/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// Only Collect + TextSerializer of an already set registry (the least prometheus-cpp can cost).
void BM_PrometheusCppSerializeOnly(benchmark::State& state) {
  const auto series = MakeSeries(static_cast<int>(state.range(0)));
  auto registry = std::make_shared<prometheus::Registry>();
  for (int f = 0; f < 4; ++f) {
    auto& family = prometheus::BuildGauge().Name(kNames[f]).Help("help").Register(*registry);
    for (const FakeSeries& s : series) family.Add(ToPromLabels(s.labels)).Set(s.values[f]);
  }
  std::string out;
  for (auto _ : state) {
    out = prometheus::TextSerializer().Serialize(registry->Collect());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}

BENCHMARK(BM_HandWriter)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrometheusCpp)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrometheusCppSerializeOnly)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace backsight::server

BENCHMARK_MAIN();
