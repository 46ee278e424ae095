#include "backsight/traces/service_graph.h"

#include <algorithm>

#include "backsight/core/labels.h"
#include "backsight/core/number_format.h"

namespace backsight::traces {

void ServiceGraph::Edge(const std::string& client, const std::string& server, int64_t ns,
                        bool error) {
  auto [it, fresh] = edges_.try_emplace({client, server});
  GraphEdge& e = it->second;
  if (fresh) {
    e.client = client;
    e.server = server;
  }
  ++e.requests;
  if (error) ++e.failed;
  e.server_latency.Add(ns);
}

void ServiceGraph::Expire(int64_t now_ns) {
  // Entries leave in arrival order once their span ended more than wait_ns before the newest
  // span end seen, or while over the cap.
  while (!order_.empty() && (order_.front().end_ns < now_ns - wait_ns_ ||
                             known_.size() + pending_count_ > max_spans_)) {
    const Entry& e = order_.front();
    if (!e.pending) {
      known_.erase(e.key);
    } else if (auto p = pending_.find(e.key); p != pending_.end()) {
      dropped_unpaired_ += p->second.size();
      pending_count_ -= p->second.size();
      pending_.erase(p);
    }
    order_.pop_front();
  }
}

void ServiceGraph::Add(const ingest::Span& s) {
  now_ns_ = std::max(now_ns_, s.end_ns);
  const bool error = s.status == ingest::SpanStatus::kError;
  std::string key = s.trace_id + "/" + s.span_id;
  // Children that waited for this span.
  if (auto p = pending_.find(key); p != pending_.end()) {
    for (const Waiting& w : p->second) {
      if (w.service != s.service) Edge(s.service, w.service, w.duration_ns, w.error);
    }
    pending_count_ -= p->second.size();
    pending_.erase(p);
  }
  if (!s.parent_span_id.empty()) {
    std::string pkey = s.trace_id + "/" + s.parent_span_id;
    if (auto k = known_.find(pkey); k != known_.end()) {
      if (k->second.service != s.service)
        Edge(k->second.service, s.service, s.duration_ns(), error);
    } else {
      auto& list = pending_[pkey];
      if (list.empty()) order_.push_back({s.end_ns, pkey, true});
      list.push_back({s.service, s.duration_ns(), error});
      ++pending_count_;
    }
  }
  if (known_.emplace(key, Known{s.service, s.end_ns}).second)
    order_.push_back({s.end_ns, key, false});
  Expire(now_ns_);
}

std::vector<const GraphEdge*> ServiceGraph::Edges() const {
  std::vector<const GraphEdge*> v;
  for (const auto& [k, e] : edges_) v.push_back(&e);
  return v;
}

void ServiceGraph::WritePrometheus(std::string* out) const {
  auto write = [&](const char* name, const Labels& ls, const std::string& value) {
    out->append(name);
    AppendLabelSet(ls, out);
    out->push_back(' ');
    out->append(value);
    out->push_back('\n');
  };
  out->append("# TYPE traces_service_graph_request_total counter\n");
  for (const auto& [k, e] : edges_) {
    write("traces_service_graph_request_total", {{"client", e.client}, {"server", e.server}},
          std::to_string(e.requests));
  }
  out->append("# TYPE traces_service_graph_request_failed_total counter\n");
  for (const auto& [k, e] : edges_) {
    write("traces_service_graph_request_failed_total", {{"client", e.client}, {"server", e.server}},
          std::to_string(e.failed));
  }
  out->append("# TYPE traces_service_graph_request_server_seconds histogram\n");
  for (const auto& [k, e] : edges_) {
    Labels ls = {{"client", e.client}, {"server", e.server}, {"le", ""}};
    for (size_t i = 0; i <= kSpanMetricsBucketsSeconds.size(); ++i) {
      const bool inf = i == kSpanMetricsBucketsSeconds.size();
      ls.back().value = inf ? "+Inf" : FormatDouble(kSpanMetricsBucketsSeconds[i]);
      write(
          "traces_service_graph_request_server_seconds_bucket", ls,
          std::to_string(inf ? e.server_latency.count() : e.server_latency.CumulativeExplicit(i)));
    }
    ls.pop_back();
    write("traces_service_graph_request_server_seconds_sum", ls,
          FormatDouble(e.server_latency.sum_seconds()));
    write("traces_service_graph_request_server_seconds_count", ls,
          std::to_string(e.server_latency.count()));
  }
  out->append("# TYPE backsight_traces_graph_unpaired_spans_total counter\n");
  out->append("backsight_traces_graph_unpaired_spans_total " + std::to_string(dropped_unpaired_) +
              "\n");
}

}  // namespace backsight::traces
