// Memory of the trace aggregates per key, counted exactly: this program replaces the global
// operator new/delete to track live heap bytes (malloc_usable_size of each block), then creates
// K keys in each structure the server keeps and prints the live bytes per key:
//   RED series: K (service, operation) pairs, one kind and status each, into RedAggregator and
//     RedWindows (the server keeps both);
//   service graph edges: K client services calling one server, through ServiceGraph (the edge,
//     its open bucket, the interned service names);
//   remembered spans: the service graph's bounded store of possible parents, at its cap;
//   the incidents' recent-span ring (span_ring.h) at its default cap, and the time the incident
//   thread spends on it (copy, rebuild, latency attribution).
// Then adds K more keys over each structure's cap and prints the dropped counts.
//
//   trace_memory_bench [K]   (default 10000)
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "backsight/incidents/trace_window.h"
#include "backsight/traces/attribution.h"
#include "backsight/traces/red_aggregator.h"
#include "backsight/traces/red_windows.h"
#include "backsight/traces/service_graph.h"
#include "backsight/traces/span_ring.h"

namespace {
std::atomic<int64_t> g_live{0};
}  // namespace

void* operator new(size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_live += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

namespace {

using backsight::ingest::Span;
using backsight::ingest::SpanKind;

Span MakeSpan(const std::string& trace, const std::string& id, const std::string& parent,
              const std::string& service, const std::string& name, int64_t start_ns,
              SpanKind kind) {
  Span s;
  s.trace_id = trace;
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = service;
  s.name = name;
  s.kind = kind;
  s.start_ns = start_ns;
  s.end_ns = start_ns + 1'000'000;
  return s;
}

// Realistic name lengths: "checkout-service-17", "GET /api/v1/items/{id}/17".
std::string Service(int i) { return "checkout-service-" + std::to_string(i); }
std::string Operation(int i) { return "GET /api/v1/items/{id}/" + std::to_string(i); }

}  // namespace

int main(int argc, char** argv) {
  const int k = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int64_t t0 = 1'700'000'000'000'000'000;
  {
    auto* red = new backsight::traces::RedAggregator(static_cast<size_t>(k));
    auto* win = new backsight::traces::RedWindows(backsight::traces::RedWindows::kDefaultBucketNs,
                                                  static_cast<size_t>(k));
    std::vector<backsight::traces::RedBucket> closed;
    std::vector<Span> spans;
    for (int i = 0; i < 2 * k; ++i) {
      spans.push_back(
          MakeSpan("t", "s", "", Service(i % 100), Operation(i), t0, SpanKind::kServer));
    }
    const int64_t before = g_live;
    for (int i = 0; i < k; ++i) {
      red->Add(spans[i]);
      win->Add(spans[i], &closed);
    }
    const double per_red = static_cast<double>(g_live - before) / k;
    for (int i = k; i < 2 * k; ++i) {
      red->Add(spans[i]);
      win->Add(spans[i], &closed);
    }
    std::printf(
        "RED: %d (service, operation) keys: %.0f B per key (RedAggregator + RedWindows, names "
        "included; RedAggregator::kBytesPerSeries %zu); over the cap: %llu + %llu spans dropped "
        "and counted\n",
        k, per_red, backsight::traces::RedAggregator::kBytesPerSeries,
        static_cast<unsigned long long>(red->dropped_spans()),
        static_cast<unsigned long long>(win->dropped_spans()));
    delete red;
    delete win;
  }
  {
    auto* graph = new backsight::traces::ServiceGraph(
        backsight::traces::ServiceGraph::kDefaultWaitNs,
        backsight::traces::ServiceGraph::kDefaultMaxSpans, static_cast<size_t>(k));
    // Warm the span store to its steady state first (remembered spans are counted apart).
    std::vector<std::pair<Span, Span>> calls;
    for (int i = 0; i < 2 * k; ++i) {
      const std::string trace = "trace-" + std::to_string(i);
      calls.push_back({MakeSpan(trace, "c", "", Service(i), "GET server", t0, SpanKind::kClient),
                       MakeSpan(trace, "s", "c", "server", "GET /", t0, SpanKind::kServer)});
    }
    const int64_t before = g_live;
    for (int i = 0; i < k / 2; ++i) {
      graph->Add(calls[i].first);
      graph->Add(calls[i].second);
    }
    const size_t remembered = graph->remembered_spans();
    std::printf("service graph: %zu edges, %zu remembered spans, %.0f B live\n", graph->edges(),
                remembered, static_cast<double>(g_live - before));
    const int64_t mid = g_live;
    const size_t edges_mid = graph->edges(), spans_mid = graph->remembered_spans();
    for (int i = k / 2; i < k - 1; ++i) {
      graph->Add(calls[i].first);
      graph->Add(calls[i].second);
    }
    // Per edge: the growth from k/2 to k-1 edges minus the remembered spans' share, measured
    // below on a graph whose edge count does not grow.
    const double growth = static_cast<double>(g_live - mid);
    const size_t d_edges = graph->edges() - edges_mid;
    const size_t d_spans = graph->remembered_spans() - spans_mid;
    auto* spans_only = new backsight::traces::ServiceGraph();
    const int64_t s0 = g_live;
    for (int i = 0; i < static_cast<int>(d_spans); ++i) {
      spans_only->Add(MakeSpan("trace-" + std::to_string(i), "c", "", "client", "GET server", t0,
                               SpanKind::kClient));
    }
    const double per_span =
        d_spans ? static_cast<double>(g_live - s0) / static_cast<double>(d_spans) : 0;
    std::printf(
        "service graph: %.0f B per edge (edge, open bucket, interned client name; "
        "ServiceGraph::kBytesPerEdge %zu), %.0f B per remembered span (cap %zu spans = %.1f "
        "MiB)\n",
        (growth - per_span * static_cast<double>(d_spans)) / static_cast<double>(d_edges),
        backsight::traces::ServiceGraph::kBytesPerEdge, per_span,
        backsight::traces::ServiceGraph::kDefaultMaxSpans,
        per_span * backsight::traces::ServiceGraph::kDefaultMaxSpans / 1048576.0);
    for (int i = k - 1; i < 2 * k; ++i) {
      graph->Add(calls[i].first);
      graph->Add(calls[i].second);
    }
    std::printf(
        "service graph over the caps (%d edges, %d services): %zu edges kept, %llu requests and "
        "%llu spans of new services dropped and counted\n",
        k, 2 * k, graph->edges(), static_cast<unsigned long long>(graph->dropped_edge_requests()),
        static_cast<unsigned long long>(graph->dropped_service_spans()));
    delete spans_only;
    delete graph;
  }
  {
    // The incidents' recent-span ring at its default cap (incidents.trace_window_spans), filled
    // with traces of a root and two calls (client + server) over 10 services and 50 operations;
    // then the incident thread's work on it: copy, rebuild as spans, latency attribution of the
    // newer half against the older half (wall times on this machine, one run).
    constexpr size_t kRingSpans = 100000;
    std::vector<Span> spans;
    for (size_t i = 0; spans.size() < kRingSpans; ++i) {
      const std::string trace = std::to_string(1000000 + i) + "0123456789abcdef0123456789";
      const int64_t t = t0 + static_cast<int64_t>(i) * 10'000'000;
      const int a = static_cast<int>(i % 10), b = static_cast<int>((i + 3) % 10);
      spans.push_back(
          MakeSpan(trace, "r", "", Service(a), Operation(a * 5 + i % 5), t, SpanKind::kServer));
      spans.push_back(MakeSpan(trace, "c", "r", Service(a), "call", t, SpanKind::kClient));
      spans.push_back(
          MakeSpan(trace, "s", "c", Service(b), Operation(b * 5), t, SpanKind::kServer));
    }
    spans.resize(kRingSpans);
    const int64_t before = g_live;
    auto* ring = new backsight::traces::SpanRing(kRingSpans);
    const auto a0 = std::chrono::steady_clock::now();
    ring->Add(spans);
    const auto a1 = std::chrono::steady_clock::now();
    const double per_span = static_cast<double>(g_live - before) / kRingSpans;
    backsight::traces::SpanRingCopy copy;
    ring->CopyTo(&copy);
    const auto a2 = std::chrono::steady_clock::now();
    std::vector<Span> base, window;
    const int64_t mid = spans[kRingSpans / 2].start_ns;
    copy.ToSpans(INT64_MIN, mid, &base);
    copy.ToSpans(mid, INT64_MAX, &window);
    const auto a3 = std::chrono::steady_clock::now();
    const auto att = backsight::traces::AttributeLatency(base, window);
    const auto a4 = std::chrono::steady_clock::now();
    // serve's rebuild: periods per entry operation, traces whole (incidents/trace_window.h), for
    // an incident that started 60 s after the middle (its lead split there).
    std::vector<Span> split_base, split_window;
    backsight::incidents::SplitTraceSpans(
        copy,
        backsight::incidents::ChooseTracePeriods(copy, mid + backsight::incidents::kTraceLeadNs),
        &split_base, &split_window);
    const auto a5 = std::chrono::steady_clock::now();
    auto ms = [](auto x, auto y) {
      return std::chrono::duration<double, std::milli>(y - x).count();
    };
    std::printf(
        "incidents span ring: %zu spans, %.1f B per span live (SpanRing::kBytesPerSpan %zu, "
        "names included) = %.1f MiB; Add %.0f ns/span; copy %.1f ms, rebuild %.1f ms, "
        "AttributeLatency %.1f ms (%zu + %zu traces); per-entry periods + whole-trace split "
        "%.1f ms (%zu + %zu spans)\n",
        kRingSpans, per_span, backsight::traces::SpanRing::kBytesPerSpan,
        per_span * kRingSpans / 1048576.0, ms(a0, a1) * 1e6 / kRingSpans, ms(a1, a2), ms(a2, a3),
        ms(a3, a4), att.baseline_traces, att.window_traces, ms(a4, a5), split_base.size(),
        split_window.size());
    delete ring;
  }
  return 0;
}
