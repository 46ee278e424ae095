// Service graph from spans, exported with the OpenTelemetry Collector servicegraph connector's
// names (opentelemetry-collector-contrib/connector/servicegraphconnector):
// traces_service_graph_request_total, traces_service_graph_request_failed_total and the
// traces_service_graph_request_server_seconds histogram, labels client and server.
//
// Pairing, as the connector does it: a CLIENT or PRODUCER span and the SERVER or CONSUMER span
// whose parent it is make one request on the edge (client span's service -> server span's
// service); it failed when either half has status ERROR; its latency is the server span's
// duration. Fallback for spans without kinds or with a client span missing (Nezha's span CSVs
// carry no kind; some instrumentations put a SERVER span right under the caller's SERVER span):
// a child that is not itself CLIENT or PRODUCER, whose parent is in another service, when the
// two are not a CLIENT/PRODUCER -> SERVER/CONSUMER pair, makes a request on the edge parent's
// service -> child's service (failed when the child has status ERROR). A child has one parent, so
// no request is counted twice. Halves that arrive before their partner wait until it arrives or
// `wait_ns` of span time passes; unpaired waiting children are then dropped and counted.
//
// Per-bucket edge series (requests, failed, server latency p90 per edge and time bucket of the
// server span's start) are returned by Add for the stream engine, as RedWindows does for
// operations.
#ifndef BACKSIGHT_TRACES_SERVICE_GRAPH_H_
#define BACKSIGHT_TRACES_SERVICE_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/flat_index.h"
#include "backsight/ingest/span_batch.h"
#include "backsight/traces/latency_histogram.h"

namespace backsight::traces {

/// One client -> server edge.
struct GraphEdge {
  std::string client, server;
  uint64_t requests = 0;
  uint64_t failed = 0;  ///< Either half with status ERROR (fallback: the child's status).
  LatencyHistogram server_latency;
};

/// One closed time bucket of one edge, for the stream engine.
struct EdgeBucket {
  std::string client, server;
  int64_t bucket_start_ns = 0;
  uint64_t requests = 0;
  uint64_t failed = 0;
  double p90_seconds = 0;  ///< Server latency p90 in the bucket.
};

/// A copy of a ServiceGraph's exported state (edge totals and drop counters), taken cheaply
/// under the owner's lock and rendered outside it.
struct ServiceGraphSnapshot {
  std::vector<GraphEdge> edges;  ///< Sorted by client, server.
  uint64_t dropped_unpaired = 0, dropped_edge_requests = 0, dropped_service_spans = 0;

  /// Appends the Prometheus text exposition of the edge series.
  void WritePrometheus(std::string* out) const;
};

/// Pairs spans into edges. Memory bounded: at most `max_spans` remembered spans (possible
/// parents and waiting children), `max_edges` edges and twice as many services (further ones
/// are dropped and counted). Spans are remembered by a 64-bit hash of (trace id, span id): with
/// 100,000 remembered spans two distinct spans share a hash with probability ~3e-10.
class ServiceGraph {
 public:
  /// Defaults after the servicegraph connector's store: wait 2 s (store.ttl), 1,000 items
  /// (store.max_items) is too small for batch files, so 100,000 spans here.
  static constexpr int64_t kDefaultWaitNs = 2'000'000'000;
  static constexpr size_t kDefaultMaxSpans = 100000;
  /// Edge cap (the connector has none; 10,000 edges x ~5.5 KiB keeps a worst case near 55 MiB).
  static constexpr size_t kDefaultMaxEdges = 10000;
  /// Edge bucket width: 60 s, as RedWindows::kDefaultBucketNs.
  static constexpr int64_t kDefaultBucketNs = 60'000'000'000;

  explicit ServiceGraph(int64_t wait_ns = kDefaultWaitNs, size_t max_spans = kDefaultMaxSpans,
                        size_t max_edges = kDefaultMaxEdges, int64_t bucket_ns = kDefaultBucketNs);

  /// Adds one span (any order within the wait); appends the edge buckets it closes to `*closed`
  /// when given.
  void Add(const ingest::Span& span, std::vector<EdgeBucket>* closed = nullptr);
  /// Closes every open edge bucket that starts before `before_ns` (all with INT64_MAX).
  void Flush(int64_t before_ns, std::vector<EdgeBucket>* closed);
  /// Edges sorted by client, server.
  std::vector<const GraphEdge*> Edges() const;
  /// Copies the exported state into `*out` (its memory reused).
  void Snapshot(ServiceGraphSnapshot* out) const;
  /// Appends the Prometheus text exposition of the edge series.
  void WritePrometheus(std::string* out) const;
  /// Children dropped because their parent never came within the wait or the span cap.
  uint64_t dropped_unpaired() const { return dropped_unpaired_; }
  /// Requests not counted because the edge cap was reached.
  uint64_t dropped_edge_requests() const { return dropped_edge_requests_; }
  /// Spans not remembered because the service cap was reached.
  uint64_t dropped_service_spans() const { return dropped_service_spans_; }
  /// Pairs older than their edge's open bucket (counted in the totals, not in a bucket).
  uint64_t late_pairs() const { return late_pairs_; }
  /// Records held: possible parents and children waiting (or paired, until their turn to expire).
  size_t remembered_spans() const { return static_cast<size_t>(tail_ - head_); }
  size_t edges() const { return edges_.size(); }
  /// Bytes held per edge (names excluded): the edge, its open bucket and its hash map entry.
  static constexpr size_t kBytesPerEdge = sizeof(GraphEdge) + sizeof(LatencyHistogram) + 64;

 private:
  // One remembered span: a possible parent (known), or a child waiting for its parent.
  struct Rec {
    uint64_t key;       // known: hash(trace id, span id); waiting: hash(trace id, parent id)
    uint64_t seq;       // arrival number
    uint64_t prev_seq;  // waiting: the previous waiting child of the same parent, or kNoSeq
    int64_t end_ns;
    int64_t start_ns, duration_ns;
    uint32_t service;
    ingest::SpanKind kind;
    bool error;
    bool waiting;
    bool paired;  // waiting: its parent came (not counted as dropped when it expires)
  };
  // A child's part of a pair.
  struct Waiting {
    uint32_t service;
    ingest::SpanKind kind;
    bool error;
    int64_t start_ns, duration_ns;
  };
  struct Edge {
    GraphEdge total;
    int64_t bucket_start_ns = INT64_MIN;  // INT64_MIN: no open bucket
    uint64_t bucket_failed = 0;
    LatencyHistogram bucket;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  // Service id of `name`, or UINT32_MAX when the service cap is reached.
  uint32_t ServiceId(std::string_view name);
  // Counts the request of child `c` under parent `p`, when the pair makes one.
  void Pair(uint32_t p_service, ingest::SpanKind p_kind, bool p_error, const Waiting& c,
            std::vector<EdgeBucket>* closed);
  void CloseBucket(Edge* e, std::vector<EdgeBucket>* closed);
  void Expire(int64_t now_ns);
  void PopOldest();
  Rec& Push();  // a new record at the tail (the oldest leaves first when the store is full)

  int64_t wait_ns_;
  size_t max_spans_;
  size_t max_edges_;
  int64_t bucket_ns_;
  std::vector<std::string> service_names_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> service_ids_;
  uint32_t last_service_ = UINT32_MAX;        // id ServiceId returned last (UINT32_MAX: none yet)
  std::unordered_map<uint64_t, Edge> edges_;  // client id << 32 | server id
  std::vector<Rec> ring_;    // the record of arrival number n at slot n % max_spans_
  uint64_t head_ = 0;        // arrival number of the oldest record held
  uint64_t tail_ = 0;        // next arrival number
  FlatIndex known_index_;    // hash(trace id, span id) -> slot of the known record
  FlatIndex pending_index_;  // hash(trace id, parent id) -> slot of the newest waiting child
  int64_t now_ns_ = INT64_MIN;
  uint64_t dropped_unpaired_ = 0, dropped_edge_requests_ = 0, dropped_service_spans_ = 0;
  uint64_t late_pairs_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_SERVICE_GRAPH_H_
