// The live trace findings' cost per span (traces::FindingsDetector, as `backsight serve` runs it
// on every span of POST /v1/traces): single thread, in process, spans/s through Add (grouping per
// trace, SQL normalisation of db spans, finalisation of quiet traces with the N+1 / retry /
// cascade passes) and the open traces held. Traces: 10 spans (5 services, 20 operations, every
// 4th span a db client span with a db.statement), 1 ms apart in span time, so a window of 1 s
// of span time holds ~1,000 open traces.
//
//   findings_bench [TRACES]   (default 200000 = 2 M spans)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backsight/ingest/span_batch.h"
#include "backsight/traces/findings.h"

namespace {

constexpr int kSpansPerTrace = 10;
constexpr int kServices = 5;
// Span time between trace starts, and the detector's quiet window (1,000 traces open).
constexpr int64_t kTraceStepNs = 1'000'000;
constexpr int64_t kWindowNs = 1'000'000'000;

std::string Hex(uint64_t v, int digits) {
  std::string s(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0 && v; --i, v >>= 4) s[i] = "0123456789abcdef"[v & 15];
  return s;
}

std::vector<backsight::ingest::Span> MakeTrace(uint64_t t) {
  std::vector<backsight::ingest::Span> out(kSpansPerTrace);
  const int64_t t0 = 1'700'000'000'000'000'000 + static_cast<int64_t>(t) * kTraceStepNs;
  for (int k = 0; k < kSpansPerTrace; ++k) {
    auto& s = out[k];
    s.trace_id = Hex(t + 1, 32);
    s.span_id = Hex(t * 16 + k + 1, 16);
    if (k > 0) s.parent_span_id = Hex(t * 16 + (k - 1) / 2 + 1, 16);
    s.service = "service-" + std::to_string(k % kServices);
    s.name = "op-" + std::to_string(k * 2 + t % 2);
    s.kind = k % 2 ? backsight::ingest::SpanKind::kClient : backsight::ingest::SpanKind::kServer;
    s.start_ns = t0 + k * 1000;
    s.end_ns = s.start_ns + 100'000 + static_cast<int64_t>((t * 7919 + k) % 50'000);
    if (k % 4 == 3) {
      s.attributes.push_back(
          {"db.statement", "SELECT * FROM items WHERE id = " + std::to_string(t * 10 + k)});
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t traces = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200'000;
  // Pre-built so that only Add is timed; 1,000 distinct shapes reused with fresh trace ids.
  std::vector<std::vector<backsight::ingest::Span>> shapes;
  for (uint64_t t = 0; t < 1000; ++t) shapes.push_back(MakeTrace(t));
  // The span copies alone (what a decoded batch costs anyway), to subtract.
  const auto c0 = std::chrono::steady_clock::now();
  uint64_t sink = 0;
  for (uint64_t t = 0; t < traces; ++t) {
    for (auto s : shapes[t % shapes.size()]) {
      s.trace_id = Hex(t + 1, 32);
      sink += s.trace_id.size() + static_cast<uint64_t>(s.end_ns & 1);
    }
  }
  const double copy_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
  backsight::traces::FindingsDetector d(kWindowNs);
  size_t max_open = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t t = 0; t < traces; ++t) {
    auto& shape = shapes[t % shapes.size()];
    const int64_t shift = static_cast<int64_t>(t / shapes.size()) * 1000 * kTraceStepNs;
    const std::string id = Hex(t + 1, 32);
    for (auto s : shape) {  // a copy, as a decoded batch would hold
      s.trace_id = id;
      s.start_ns += shift;
      s.end_ns += shift;
      d.Add(s, s.end_ns);
    }
    if (d.open_traces() > max_open) max_open = d.open_traces();
  }
  d.Flush();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double spans = static_cast<double>(traces) * kSpansPerTrace;
  std::printf(
      "findings: %.0f spans in %.2f s = %.2f M spans/s (one thread, span copies included; the "
      "copies alone %.2f s, so Add %.0f ns/span); %zu traces open at most; %zu findings; %llu "
      "traces analysed (checksum %llu)\n",
      spans, s, spans / s / 1e6, copy_s, (s - copy_s) / spans * 1e9, max_open, d.Findings().size(),
      static_cast<unsigned long long>(d.finalised_traces()), static_cast<unsigned long long>(sink));
  return 0;
}
