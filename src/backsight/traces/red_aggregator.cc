#include "backsight/traces/red_aggregator.h"

#include <algorithm>

#include "backsight/core/labels.h"
#include "backsight/core/number_format.h"

namespace backsight::traces {

namespace {
constexpr double kNsPerMs = 1e6;
constexpr double kNsPerS = 1e9;
}  // namespace

void RedAggregator::Add(const ingest::Span& s) {
  auto it = series_.find(KeyView{s.service, s.name, s.kind, s.status});
  if (it == series_.end()) {
    if (series_.size() >= max_series_) {
      ++dropped_spans_;
      return;
    }
    it = series_.emplace(Key{s.service, s.name, s.kind, s.status}, LatencyHistogram()).first;
  }
  it->second.Add(s.duration_ns());
  first_start_ns_ = std::min(first_start_ns_, s.start_ns);
  last_start_ns_ = std::max(last_start_ns_, s.start_ns);
}

std::vector<const std::pair<const RedAggregator::Key, LatencyHistogram>*> RedAggregator::Sorted()
    const {
  std::vector<const std::pair<const Key, LatencyHistogram>*> v;
  v.reserve(series_.size());
  for (const auto& e : series_) v.push_back(&e);
  std::sort(v.begin(), v.end(), [](const auto* a, const auto* b) {
    const Key& x = a->first;
    const Key& y = b->first;
    if (x.service != y.service) return x.service < y.service;
    if (x.name != y.name) return x.name < y.name;
    return x.kind != y.kind ? x.kind < y.kind : x.status < y.status;
  });
  return v;
}

std::vector<RedRow> RedAggregator::Rows() const {
  std::vector<RedRow> rows;
  LatencyHistogram merged;
  const double span_s =
      last_start_ns_ > first_start_ns_ ? (last_start_ns_ - first_start_ns_) / kNsPerS : 0;
  auto flush = [&](RedRow* r) {
    r->calls = merged.count();
    r->rate_per_s = span_s > 0 ? r->calls / span_s : 0;
    r->p50_ms = merged.Quantile(0.5) / kNsPerMs;
    r->p90_ms = merged.Quantile(0.9) / kNsPerMs;
    r->p99_ms = merged.Quantile(0.99) / kNsPerMs;
    merged = LatencyHistogram();
  };
  for (const auto* e : Sorted()) {
    const auto& [service, op, kind, status] = e->first;
    const LatencyHistogram& h = e->second;
    if (rows.empty() || rows.back().service != service || rows.back().operation != op) {
      if (!rows.empty()) flush(&rows.back());
      rows.push_back({service, op});
    }
    merged.Merge(h);
    if (status == ingest::SpanStatus::kError) rows.back().errors += h.count();
  }
  if (!rows.empty()) flush(&rows.back());
  return rows;
}

void RedAggregator::WritePrometheus(std::string* out) const {
  const auto sorted = Sorted();
  // Each series' label set is escaped once and reused by its calls and histogram lines.
  std::vector<std::string> label_sets(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [service, op, kind, status] = sorted[i]->first;
    AppendLabelSet({{"service_name", service},
                    {"span_name", op},
                    {"span_kind", std::string(ingest::SpanKindName(kind))},
                    {"status_code", std::string(ingest::SpanStatusName(status))}},
                   &label_sets[i]);
  }
  out->append("# TYPE traces_span_metrics_calls_total counter\n");
  for (size_t i = 0; i < sorted.size(); ++i) {
    out->append("traces_span_metrics_calls_total");
    out->append(label_sets[i]);
    out->push_back(' ');
    out->append(std::to_string(sorted[i]->second.count()));
    out->push_back('\n');
  }
  const std::vector<std::string> le = LeLabelValues();
  out->append("# TYPE traces_span_metrics_duration_seconds histogram\n");
  for (size_t i = 0; i < sorted.size(); ++i) {
    const LatencyHistogram& h = sorted[i]->second;
    // The series' label set with le="..." appended (the set always has labels: "{...}").
    const std::string_view open(label_sets[i].data(), label_sets[i].size() - 1);
    for (size_t b = 0; b < le.size(); ++b) {
      const bool inf = b == kSpanMetricsBucketsSeconds.size();
      out->append("traces_span_metrics_duration_seconds_bucket");
      out->append(open).append(",le=\"").append(le[b]).append("\"} ");
      out->append(std::to_string(inf ? h.count() : h.CumulativeExplicit(b)));
      out->push_back('\n');
    }
    out->append("traces_span_metrics_duration_seconds_sum");
    out->append(label_sets[i]);
    out->push_back(' ');
    AppendDouble(h.sum_seconds(), out);
    out->append("\ntraces_span_metrics_duration_seconds_count");
    out->append(label_sets[i]);
    out->push_back(' ');
    out->append(std::to_string(h.count()));
    out->push_back('\n');
  }
  out->append("# TYPE backsight_traces_red_dropped_spans_total counter\n");
  out->append("backsight_traces_red_dropped_spans_total " + std::to_string(dropped_spans_) + "\n");
}

}  // namespace backsight::traces
