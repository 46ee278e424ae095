// Memory of the trace aggregates per key, counted exactly: this program replaces the global
// operator new/delete to track live heap bytes (malloc_usable_size of each block), then creates
// K keys in each structure the server keeps and prints the live bytes per key:
//   RED series: K (service, operation) pairs, one kind and status each, into RedAggregator and
//     RedWindows (the server keeps both);
//   service graph edges: K client services calling one server, through ServiceGraph (the edge,
//     its open bucket, the interned service names);
//   remembered spans: the service graph's bounded store of possible parents, at its cap.
// Then adds K more keys over each structure's cap and prints the dropped counts.
//
//   trace_memory_bench [K]   (default 10000)
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "backsight/traces/red_aggregator.h"
#include "backsight/traces/red_windows.h"
#include "backsight/traces/service_graph.h"

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
  return 0;
}
