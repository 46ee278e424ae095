#include "backsight/traces/service_graph.h"

#include <algorithm>

#include "backsight/core/hash.h"
#include "backsight/core/labels.h"
#include "backsight/core/number_format.h"
#include "backsight/traces/operation_buckets.h"

namespace backsight::traces {

namespace {

// The server latency quantile of an edge bucket.
constexpr double kBucketQuantile = 0.9;
constexpr double kSecondsPerNs = 1e-9;
constexpr uint32_t kNoService = UINT32_MAX;
// No previous waiting child.
constexpr uint64_t kNoSeq = UINT64_MAX;

// 64-bit key of a span: boost::hash_combine of the two ids' std::hash values (both 64 bits);
// `trace_hash` is std::hash of the trace id (computed once per span for its own and its
// parent's key).
uint64_t SpanKey(uint64_t trace_hash, std::string_view span_id) {
  return HashCombine(trace_hash, std::hash<std::string_view>()(span_id));
}

bool IsClientKind(ingest::SpanKind k) {
  return k == ingest::SpanKind::kClient || k == ingest::SpanKind::kProducer;
}
bool IsServerKind(ingest::SpanKind k) {
  return k == ingest::SpanKind::kServer || k == ingest::SpanKind::kConsumer;
}

}  // namespace

ServiceGraph::ServiceGraph(int64_t wait_ns, size_t max_spans, size_t max_edges, int64_t bucket_ns)
    : wait_ns_(wait_ns),
      max_spans_(std::max<size_t>(max_spans, 1)),
      max_edges_(max_edges),
      bucket_ns_(bucket_ns) {}

uint32_t ServiceGraph::ServiceId(std::string_view name) {
  // A request's spans come grouped by resource: most spans have the previous span's service.
  if (last_service_ != kNoService && service_names_[last_service_] == name) return last_service_;
  if (auto it = service_ids_.find(name); it != service_ids_.end()) {
    last_service_ = it->second;
    return it->second;
  }
  // Two services per edge: a service beyond that could only add edges over the cap.
  if (service_names_.size() >= 2 * max_edges_) return kNoService;
  const auto id = static_cast<uint32_t>(service_names_.size());
  service_names_.emplace_back(name);
  service_ids_.emplace(std::string(name), id);
  last_service_ = id;
  return id;
}

void ServiceGraph::CloseBucket(Edge* e, std::vector<EdgeBucket>* closed) {
  if (e->bucket_start_ns == INT64_MIN) return;
  if (closed) {
    EdgeBucket b;
    b.client = e->total.client;
    b.server = e->total.server;
    b.bucket_start_ns = e->bucket_start_ns;
    b.requests = e->bucket.count();
    b.failed = e->bucket_failed;
    b.p90_seconds = e->bucket.Quantile(kBucketQuantile) * kSecondsPerNs;
    closed->push_back(std::move(b));
  }
  e->bucket_start_ns = INT64_MIN;
  e->bucket_failed = 0;
  e->bucket = LatencyHistogram();
}

void ServiceGraph::Pair(uint32_t p_service, ingest::SpanKind p_kind, bool p_error, const Waiting& c,
                        std::vector<EdgeBucket>* closed) {
  bool failed;
  if (IsClientKind(p_kind) && IsServerKind(c.kind)) {
    failed = p_error || c.error;
  } else if (!IsClientKind(c.kind) && p_service != c.service) {
    failed = c.error;
  } else {
    return;
  }
  const uint64_t key = static_cast<uint64_t>(p_service) << 32 | c.service;
  auto it = edges_.find(key);
  if (it == edges_.end()) {
    if (edges_.size() >= max_edges_) {
      ++dropped_edge_requests_;
      return;
    }
    it = edges_.try_emplace(key).first;
    it->second.total.client = service_names_[p_service];
    it->second.total.server = service_names_[c.service];
  }
  Edge& e = it->second;
  ++e.total.requests;
  if (failed) ++e.total.failed;
  e.total.server_latency.Add(c.duration_ns);
  const int64_t start = BucketStart(c.start_ns, bucket_ns_);
  if (start < e.bucket_start_ns) {
    ++late_pairs_;
    return;
  }
  if (start > e.bucket_start_ns) {
    CloseBucket(&e, closed);
    e.bucket_start_ns = start;
  }
  e.bucket.Add(c.duration_ns);
  if (failed) ++e.bucket_failed;
}

void ServiceGraph::Flush(int64_t before_ns, std::vector<EdgeBucket>* closed) {
  for (auto& [k, e] : edges_) {
    if (e.bucket_start_ns < before_ns) CloseBucket(&e, closed);
  }
}

void ServiceGraph::PopOldest() {
  const uint32_t slot = static_cast<uint32_t>(head_ % max_spans_);
  const Rec& r = ring_[slot];
  if (!r.waiting) {
    if (known_index_.Find(r.key) == slot) known_index_.Erase(r.key);
  } else {
    if (!r.paired) ++dropped_unpaired_;
    // The newest waiting child of its parent leaves last (arrival order): then no child waits.
    if (pending_index_.Find(r.key) == slot) pending_index_.Erase(r.key);
  }
  ++head_;
}

ServiceGraph::Rec& ServiceGraph::Push() {
  if (tail_ - head_ >= max_spans_) PopOldest();
  const uint64_t seq = tail_++;
  if (ring_.size() < max_spans_ && seq == ring_.size()) ring_.emplace_back();
  Rec& r = ring_[seq % max_spans_];
  r = Rec{};
  r.seq = seq;
  return r;
}

void ServiceGraph::Expire(int64_t now_ns) {
  // Records leave in arrival order once their span ended more than wait_ns before the newest
  // span end seen (the span cap is kept by Push).
  while (head_ < tail_ && ring_[head_ % max_spans_].end_ns < now_ns - wait_ns_) PopOldest();
}

void ServiceGraph::Add(const ingest::Span& s, std::vector<EdgeBucket>* closed) {
  now_ns_ = std::max(now_ns_, s.end_ns);
  const uint32_t service = ServiceId(s.service);
  if (service == kNoService) {
    ++dropped_service_spans_;
    return;
  }
  const bool error = s.status == ingest::SpanStatus::kError;
  const uint64_t trace_hash = std::hash<std::string_view>()(s.trace_id);
  const uint64_t key = SpanKey(trace_hash, s.span_id);
  // Children that waited for this span, newest first.
  if (uint32_t slot = pending_index_.Find(key); slot != FlatIndex::kNone) {
    for (;;) {
      Rec& c = ring_[slot];
      c.paired = true;
      Pair(service, s.kind, error, {c.service, c.kind, c.error, c.start_ns, c.duration_ns}, closed);
      if (c.prev_seq == kNoSeq || c.prev_seq < head_) break;
      slot = static_cast<uint32_t>(c.prev_seq % max_spans_);
    }
    pending_index_.Erase(key);
  }
  if (!s.parent_span_id.empty()) {
    const uint64_t pkey = SpanKey(trace_hash, s.parent_span_id);
    if (const uint32_t p = known_index_.Find(pkey); p != FlatIndex::kNone) {
      const Rec& parent = ring_[p];
      Pair(parent.service, parent.kind, parent.error,
           {service, s.kind, error, s.start_ns, s.duration_ns()}, closed);
    } else {
      const uint32_t newest = pending_index_.Find(pkey);
      const uint64_t prev = newest == FlatIndex::kNone ? kNoSeq : ring_[newest].seq;
      Rec& r = Push();
      r.key = pkey;
      r.prev_seq = prev < head_ ? kNoSeq : prev;
      r.end_ns = s.end_ns;
      r.start_ns = s.start_ns;
      r.duration_ns = s.duration_ns();
      r.service = service;
      r.kind = s.kind;
      r.error = error;
      r.waiting = true;
      pending_index_.Put(pkey, static_cast<uint32_t>(r.seq % max_spans_));
    }
  }
  if (known_index_.Find(key) == FlatIndex::kNone) {
    Rec& r = Push();
    r.key = key;
    r.end_ns = s.end_ns;
    r.service = service;
    r.kind = s.kind;
    r.error = error;
    known_index_.Put(key, static_cast<uint32_t>(r.seq % max_spans_));
  }
  Expire(now_ns_);
}

std::vector<const GraphEdge*> ServiceGraph::Edges() const {
  std::vector<const GraphEdge*> v;
  v.reserve(edges_.size());
  for (const auto& [k, e] : edges_) v.push_back(&e.total);
  std::sort(v.begin(), v.end(), [](const GraphEdge* a, const GraphEdge* b) {
    return a->client != b->client ? a->client < b->client : a->server < b->server;
  });
  return v;
}

void ServiceGraph::Snapshot(ServiceGraphSnapshot* out) const {
  // Sorted as pointers (copying the 2.7 KiB histograms once, not at every swap).
  const std::vector<const GraphEdge*> sorted = Edges();
  out->edges.resize(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) out->edges[i] = *sorted[i];
  out->dropped_unpaired = dropped_unpaired_;
  out->dropped_edge_requests = dropped_edge_requests_;
  out->dropped_service_spans = dropped_service_spans_;
}

void ServiceGraph::WritePrometheus(std::string* out) const {
  ServiceGraphSnapshot snap;
  Snapshot(&snap);
  snap.WritePrometheus(out);
}

void ServiceGraphSnapshot::WritePrometheus(std::string* out) const {
  // Each edge's label set is escaped once and reused by its lines.
  std::vector<std::string> label_sets(edges.size());
  for (size_t i = 0; i < edges.size(); ++i) {
    AppendLabelSet({{"client", edges[i].client}, {"server", edges[i].server}}, &label_sets[i]);
  }
  auto write = [&](const char* name, std::string_view label_set, uint64_t value) {
    out->append(name).append(label_set).push_back(' ');
    out->append(std::to_string(value)).push_back('\n');
  };
  out->append("# TYPE traces_service_graph_request_total counter\n");
  for (size_t i = 0; i < edges.size(); ++i) {
    write("traces_service_graph_request_total", label_sets[i], edges[i].requests);
  }
  out->append("# TYPE traces_service_graph_request_failed_total counter\n");
  for (size_t i = 0; i < edges.size(); ++i) {
    write("traces_service_graph_request_failed_total", label_sets[i], edges[i].failed);
  }
  const std::vector<std::string> le = LeLabelValues();
  out->append("# TYPE traces_service_graph_request_server_seconds histogram\n");
  for (size_t i = 0; i < edges.size(); ++i) {
    const LatencyHistogram& h = edges[i].server_latency;
    // The edge's label set with le="..." appended.
    const std::string_view open(label_sets[i].data(), label_sets[i].size() - 1);
    for (size_t b = 0; b < le.size(); ++b) {
      const bool inf = b == kSpanMetricsBucketsSeconds.size();
      out->append("traces_service_graph_request_server_seconds_bucket");
      out->append(open).append(",le=\"").append(le[b]).append("\"} ");
      out->append(std::to_string(inf ? h.count() : h.CumulativeExplicit(b))).push_back('\n');
    }
    out->append("traces_service_graph_request_server_seconds_sum").append(label_sets[i]);
    out->push_back(' ');
    AppendDouble(h.sum_seconds(), out);
    out->push_back('\n');
    write("traces_service_graph_request_server_seconds_count", label_sets[i], h.count());
  }
  out->append("# TYPE backsight_traces_graph_unpaired_spans_total counter\n");
  out->append("backsight_traces_graph_unpaired_spans_total " + std::to_string(dropped_unpaired) +
              "\n");
  out->append("# TYPE backsight_traces_graph_dropped_requests_total counter\n");
  out->append("backsight_traces_graph_dropped_requests_total " +
              std::to_string(dropped_edge_requests) + "\n");
  out->append("# TYPE backsight_traces_graph_dropped_service_spans_total counter\n");
  out->append("backsight_traces_graph_dropped_service_spans_total " +
              std::to_string(dropped_service_spans) + "\n");
}

}  // namespace backsight::traces
