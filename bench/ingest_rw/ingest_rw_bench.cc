// Decode throughput of Prometheus remote_write bodies (and, for comparison, text exposition and
// OTLP protobuf) on one core. Prints samples/s for realistic bodies: N series x S samples, each
// series with 8 labels shaped like node_exporter/kube-state-metrics output.
//
// Usage: ingest_rw_bench [seconds_per_case=2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backsight/ingest/exposition.h"
#include "backsight/ingest/remote_write.h"

using backsight::Labels;
using backsight::MetricKind;
using backsight::Sample;
using backsight::Status;
using backsight::TimeSeries;
namespace ingest = backsight::ingest;

namespace {

std::vector<TimeSeries> MakeSeries(int n_series, int n_samples) {
  static const char* kNames[] = {"http_requests_total", "node_cpu_seconds_total",
                                 "process_resident_memory_bytes", "go_goroutines",
                                 "http_request_duration_seconds_bucket"};
  std::vector<TimeSeries> out;
  uint64_t rng = 12345;
  auto next = [&] {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 33;
  };
  for (int i = 0; i < n_series; ++i) {
    TimeSeries ts;
    ts.labels = {
        {"__name__", kNames[i % 5]},
        {"cluster", "prod-eu-west-1"},
        {"instance", "10.12." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":9100"},
        {"job", "node-exporter"},
        {"namespace", "payments"},
        {"pod", "checkout-api-7d9f8b6c5-" + std::to_string(10000 + i)},
        {"method", (i % 3) ? "GET" : "POST"},
        {"code", (i % 7) ? "200" : "503"}};
    backsight::SortLabels(&ts.labels);
    ts.kind = MetricKind::kCounter;
    double v = static_cast<double>(next() % 100000);
    for (int j = 0; j < n_samples; ++j) {
      v += static_cast<double>(next() % 1000) / 10.0;
      ts.samples.push_back({1'700'000'000'000'000'000 + j * 15'000'000'000LL, v});
    }
    out.push_back(std::move(ts));
  }
  return out;
}

template <typename F>
double Run(double seconds, F&& fn, long* iters) {
  auto t0 = std::chrono::steady_clock::now();
  long n = 0;
  double elapsed = 0;
  do {
    for (int k = 0; k < 10; ++k) fn();
    n += 10;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  *iters = n;
  return elapsed;
}

void BenchRemoteWrite(int n_series, int n_samples, double seconds) {
  std::vector<TimeSeries> in = MakeSeries(n_series, n_samples);
  std::string body;
  ingest::EncodeRemoteWrite(in, &body);
  std::vector<TimeSeries> out;
  Status st = ingest::DecodeRemoteWrite(body, &out);
  if (!st.ok()) {
    std::fprintf(stderr, "decode failed: %s\n", st.ToString().c_str());
    std::exit(1);
  }
  long iters;
  double el = Run(
      seconds, [&] { (void)ingest::DecodeRemoteWrite(body, &out); }, &iters);
  double samples = static_cast<double>(iters) * n_series * n_samples;
  std::printf(
      "remote_write decode  %5d series x %2d samples, 8 labels: body %7zu B  "
      "%8.0f bodies/s  %6.2f M samples/s  %6.2f M series/s  %7.1f MB/s (compressed)\n",
      n_series, n_samples, body.size(), iters / el, samples / el / 1e6,
      static_cast<double>(iters) * n_series / el / 1e6,
      static_cast<double>(iters) * body.size() / el / 1e6);
  // Fresh output vector every time (no reuse): cost of allocating the TimeSeries.
  el = Run(
      seconds,
      [&] {
        std::vector<TimeSeries> fresh;
        (void)ingest::DecodeRemoteWrite(body, &fresh);
      },
      &iters);
  samples = static_cast<double>(iters) * n_series * n_samples;
  std::printf(
      "  (fresh output vector each call)                                        "
      "%8.0f bodies/s  %6.2f M samples/s\n",
      iters / el, samples / el / 1e6);
  std::string enc;
  el = Run(
      seconds, [&] { ingest::EncodeRemoteWrite(in, &enc); }, &iters);
  samples = static_cast<double>(iters) * n_series * n_samples;
  std::printf(
      "remote_write encode  %5d series x %2d samples                                "
      "%8.0f bodies/s  %6.2f M samples/s\n",
      n_series, n_samples, iters / el, samples / el / 1e6);
}

void BenchExposition(int n_series, double seconds) {
  std::vector<TimeSeries> in = MakeSeries(n_series, 1);
  std::string text;
  ingest::WriteExposition(in, &text);
  std::vector<TimeSeries> out;
  long iters;
  double el = Run(
      seconds, [&] { (void)ingest::ParseExposition(text, 0, &out); }, &iters);
  std::printf(
      "exposition parse     %5d series, 8 labels: text %7zu B                   "
      "%8.0f scrapes/s %6.2f M samples/s  %7.1f MB/s\n",
      n_series, text.size(), iters / el, static_cast<double>(iters) * n_series / el / 1e6,
      static_cast<double>(iters) * text.size() / el / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  BenchRemoteWrite(1000, 10, seconds);
  BenchRemoteWrite(2000, 1, seconds);
  BenchRemoteWrite(500, 100, seconds);
  BenchExposition(1000, seconds);
  return 0;
}
