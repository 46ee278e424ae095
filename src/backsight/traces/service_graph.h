// Service graph from parent/child spans across services, exported with the OpenTelemetry
// Collector servicegraph connector's names
// (opentelemetry-collector-contrib/connector/servicegraphconnector):
// traces_service_graph_request_total, traces_service_graph_request_failed_total and the
// traces_service_graph_request_server_seconds histogram, labels client and server. An edge is a
// span whose parent is a span of another service (client = the parent's service, server = the
// child's); spans need no kinds, so traces without them (Nezha's CSVs) still give a graph. Children
// whose parent has not arrived wait until the parent arrives or `wait_ns` of span time passes; then
// they are dropped and counted.
#ifndef BACKSIGHT_TRACES_SERVICE_GRAPH_H_
#define BACKSIGHT_TRACES_SERVICE_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/ingest/span_batch.h"
#include "backsight/traces/latency_histogram.h"

namespace backsight::traces {

/// One client -> server edge.
struct GraphEdge {
  std::string client, server;
  uint64_t requests = 0;
  uint64_t failed = 0;  ///< Server span status ERROR.
  LatencyHistogram server_latency;
};

/// Pairs spans into edges; memory bounded by `max_spans` remembered spans (parents and waiting
/// children) and the number of edges.
class ServiceGraph {
 public:
  /// Defaults after the servicegraph connector's store: wait 2 s (store.ttl), 1,000 items
  /// (store.max_items) is too small for batch files, so 100,000 spans here.
  static constexpr int64_t kDefaultWaitNs = 2'000'000'000;
  static constexpr size_t kDefaultMaxSpans = 100000;

  explicit ServiceGraph(int64_t wait_ns = kDefaultWaitNs, size_t max_spans = kDefaultMaxSpans)
      : wait_ns_(wait_ns), max_spans_(max_spans) {}

  /// Adds one span (any order within the wait).
  void Add(const ingest::Span& span);
  /// Edges sorted by client, server.
  std::vector<const GraphEdge*> Edges() const;
  /// Appends the Prometheus text exposition of the edge series.
  void WritePrometheus(std::string* out) const;
  /// Children dropped because their parent never came within the wait or the span cap.
  uint64_t dropped_unpaired() const { return dropped_unpaired_; }
  size_t remembered_spans() const { return known_.size() + pending_count_; }

 private:
  struct Known {
    std::string service;
    int64_t end_ns;
  };
  struct Waiting {
    std::string service;
    int64_t duration_ns;
    bool error;
  };
  void Edge(const std::string& client, const std::string& server, int64_t ns, bool error);
  void Expire(int64_t now_ns);

  int64_t wait_ns_;
  size_t max_spans_;
  std::map<std::pair<std::string, std::string>, GraphEdge> edges_;
  std::unordered_map<std::string, Known> known_;                   // trace id + span id -> span
  std::unordered_map<std::string, std::vector<Waiting>> pending_;  // trace + parent id -> children
  struct Entry {
    int64_t end_ns;
    std::string key;
    bool pending;  // a pending_ list (else a known_ span)
  };
  std::deque<Entry> order_;  // arrival order
  size_t pending_count_ = 0;
  int64_t now_ns_ = INT64_MIN;
  uint64_t dropped_unpaired_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_SERVICE_GRAPH_H_
