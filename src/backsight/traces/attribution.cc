#include "backsight/traces/attribution.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace backsight::traces {

namespace {

constexpr double kNsPerMs = 1e6;
// Added to the spread of a node's self time (1 ms: below it, differences are noise).
constexpr double kRiseFloorMs = 1.0;
// service, operation, peer: peer is the callee service when the span is a client stub (every
// child in that one other service), whose self time is network and queueing on the way to it.
using NodeKey = std::tuple<std::string, std::string, std::string>;

// One trace reduced to its entry operation, duration and self time per node.
struct TraceSummary {
  std::string trace_id;
  NodeKey entry;
  int64_t duration_ns = 0;
  std::map<NodeKey, int64_t> self_ns;
};

// Exclusive time per span: each instant of the trace is given to the deepest span active then
// (ties: the one started last, then the later in `list`). For properly nested spans this is the
// usual self time (duration minus children); for overlapping siblings (asynchronous work, a
// handler span beside its client span) no instant is counted twice.
std::vector<int64_t> ExclusiveNs(const std::vector<const ingest::Span*>& list,
                                 const std::vector<int>& depth) {
  std::vector<std::tuple<int64_t, bool, int>> events;  // time, is start, index
  events.reserve(2 * list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    events.emplace_back(list[i]->start_ns, true, static_cast<int>(i));
    events.emplace_back(list[i]->end_ns, false, static_cast<int>(i));
  }
  std::sort(events.begin(), events.end());
  std::set<std::tuple<int, int64_t, int>> active;  // depth, start, index
  std::vector<int64_t> excl(list.size(), 0);
  int64_t prev = 0;
  for (const auto& [time, is_start, i] : events) {
    if (!active.empty()) excl[std::get<2>(*active.rbegin())] += time - prev;
    prev = time;
    const auto key = std::make_tuple(depth[i], list[i]->start_ns, i);
    if (is_start) {
      active.insert(key);
    } else {
      active.erase(key);
    }
  }
  return excl;
}

// MAD x 1.4826 estimates the standard deviation of normal data.
constexpr double kMadToSigma = 1.4826;

// Median of non-empty `v` (reordered).
double Median(std::vector<double>* v) {
  const size_t mid = v->size() / 2;
  std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(mid), v->end());
  return (*v)[mid];
}

// The p99 the tails report.
constexpr double kTailQuantile = 0.99;

// Nearest-rank q-quantile of sorted, non-empty `v`.
int64_t NearestRank(const std::vector<int64_t>& v, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

std::vector<TraceSummary> Summarise(const std::vector<ingest::Span>& spans) {
  std::unordered_map<std::string, std::vector<const ingest::Span*>> by_trace;
  for (const auto& s : spans) by_trace[s.trace_id].push_back(&s);
  std::vector<TraceSummary> out;
  for (auto& [tid, list] : by_trace) {
    // Per parent: the one service of its children when all are in another service, else "".
    std::unordered_map<std::string_view, std::pair<std::string_view, bool>> peer;  // service, mixed
    std::unordered_map<std::string_view, const ingest::Span*> ids;
    for (const auto* s : list) ids.emplace(s->span_id, s);
    const ingest::Span* root = nullptr;
    for (const auto* s : list) {
      if (s->parent_span_id.empty() || !ids.count(s->parent_span_id)) {
        // The earliest span without a known parent is the entry.
        if (!root || s->start_ns < root->start_ns) root = s;
      } else {
        const ingest::Span* p = ids[s->parent_span_id];
        auto [pit, first] = peer.try_emplace(s->parent_span_id, s->service, false);
        if (s->service == p->service || (!first && pit->second.first != s->service)) {
          pit->second.second = true;
        }
      }
    }
    if (!root) continue;
    TraceSummary t;
    t.trace_id = tid;
    t.entry = {root->service, root->name, ""};
    t.duration_ns = root->duration_ns();
    // Depth of every span (root 0; parent chains are followed with a step cap against cycles).
    std::vector<int> depth(list.size(), 0);
    for (size_t i = 0; i < list.size(); ++i) {
      const ingest::Span* c = list[i];
      for (size_t steps = 0; steps < list.size(); ++steps) {
        auto it = ids.find(c->parent_span_id);
        if (c->parent_span_id.empty() || it == ids.end()) break;
        c = it->second;
        ++depth[i];
      }
    }
    const std::vector<int64_t> excl = ExclusiveNs(list, depth);
    for (size_t i = 0; i < list.size(); ++i) {
      const ingest::Span* s = list[i];
      const int64_t self = excl[i];
      std::string callee;
      if (auto pe = peer.find(s->span_id); pe != peer.end() && !pe->second.second) {
        callee = pe->second.first;
      }
      t.self_ns[{s->service, s->name, callee}] += self;
    }
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(),
            [](const TraceSummary& a, const TraceSummary& b) { return a.trace_id < b.trace_id; });
  return out;
}

}  // namespace

Attribution AttributeLatency(const std::vector<ingest::Span>& baseline,
                             const std::vector<ingest::Span>& window) {
  Attribution a;
  const std::vector<TraceSummary> base = Summarise(baseline);
  const std::vector<TraceSummary> win = Summarise(window);
  a.baseline_traces = base.size();
  a.window_traces = win.size();
  // Per entry operation: the slow threshold and the mean self time per node of its baseline.
  struct EntryBase {
    std::vector<int64_t> durations;
    std::map<NodeKey, double> mean_self_ns;
    int64_t threshold_ns = 0;
  };
  std::map<NodeKey, EntryBase> entries;
  for (const auto& t : base) {
    EntryBase& e = entries[t.entry];
    e.durations.push_back(t.duration_ns);
    for (const auto& [k, ns] : t.self_ns) e.mean_self_ns[k] += static_cast<double>(ns);
  }
  for (auto& [k, e] : entries) {
    for (auto& [n, v] : e.mean_self_ns) v /= static_cast<double>(e.durations.size());
    std::sort(e.durations.begin(), e.durations.end());
    const size_t rank =
        static_cast<size_t>(std::ceil(kSlowQuantile * static_cast<double>(e.durations.size())));
    e.threshold_ns = e.durations[std::min(rank, e.durations.size()) - 1];
  }
  // Tails per entry operation.
  std::map<NodeKey, std::vector<int64_t>> win_durations;
  for (const auto& t : win) win_durations[t.entry].push_back(t.duration_ns);
  for (auto& [k, d] : win_durations) {
    auto it = entries.find(k);
    if (it == entries.end()) continue;
    std::sort(d.begin(), d.end());
    EntryTail e;
    e.service = std::get<0>(k);
    e.operation = std::get<1>(k);
    e.baseline_traces = it->second.durations.size();
    e.window_traces = d.size();
    e.baseline_p99_ms = NearestRank(it->second.durations, kTailQuantile) / kNsPerMs;
    e.window_p99_ms = NearestRank(d, kTailQuantile) / kNsPerMs;
    a.entries.push_back(std::move(e));
  }
  std::sort(a.entries.begin(), a.entries.end(), [](const EntryTail& x, const EntryTail& y) {
    const double rx = x.window_p99_ms - x.baseline_p99_ms, ry = y.window_p99_ms - y.baseline_p99_ms;
    return rx != ry ? rx > ry : x.service + x.operation < y.service + y.operation;
  });
  struct Acc {
    double extra_ns = 0, slow_self_ns = 0, normal_self_ns = 0, best = -1;
    std::string example;
  };
  std::map<NodeKey, Acc> acc;
  for (const auto& t : win) {
    auto it = entries.find(t.entry);
    if (it == entries.end() || it->second.durations.size() < kMinBaselineTraces) continue;
    const EntryBase& e = it->second;
    if (t.duration_ns <= e.threshold_ns) continue;
    ++a.slow_traces;
    // Every node of the slow trace or of its entry's baseline.
    std::map<NodeKey, double> delta;
    for (const auto& [k, mean] : e.mean_self_ns) delta[k] -= mean;
    for (const auto& [k, ns] : t.self_ns) delta[k] += static_cast<double>(ns);
    for (const auto& [k, d] : delta) {
      Acc& x = acc[k];
      x.extra_ns += d;
      if (auto s = t.self_ns.find(k); s != t.self_ns.end()) x.slow_self_ns += s->second;
      if (auto m = e.mean_self_ns.find(k); m != e.mean_self_ns.end()) x.normal_self_ns += m->second;
      if (d > x.best) {
        x.best = d;
        x.example = t.trace_id;
      }
    }
  }
  double total = 0;
  for (const auto& [k, x] : acc) total += std::max(0.0, x.extra_ns);
  for (const auto& [k, x] : acc) {
    if (x.extra_ns <= 0) continue;
    AttributionRow r;
    r.service = std::get<0>(k);
    r.operation = std::get<1>(k);
    r.peer_service = std::get<2>(k);
    r.extra_ms = x.extra_ns / kNsPerMs;
    r.slow_self_ms = x.slow_self_ns / kNsPerMs / static_cast<double>(a.slow_traces);
    r.normal_self_ms = x.normal_self_ns / kNsPerMs / static_cast<double>(a.slow_traces);
    r.share = total > 0 ? x.extra_ns / total : 0;
    r.example_trace_id = x.example;
    a.rows.push_back(std::move(r));
  }
  std::sort(a.rows.begin(), a.rows.end(), [](const AttributionRow& x, const AttributionRow& y) {
    return x.extra_ms != y.extra_ms ? x.extra_ms > y.extra_ms : x.service < y.service;
  });
  // Suspects (see SuspectService): call edges per service first.
  std::map<std::string, std::set<std::string>> edges_of, callees_of, callers_of;
  for (const auto& t : win) {
    for (const auto& [k, ns] : t.self_ns) {
      const auto& [svc, op, peer] = k;
      if (peer.empty()) continue;
      std::string edge = svc;
      edge.append("\n").append(peer);
      edges_of[svc].insert(edge);
      edges_of[peer].insert(std::move(edge));
      callees_of[svc].insert(peer);
      callers_of[peer].insert(svc);
    }
  }
  // Per service, the largest wait z per peer it calls / that calls it (for the slow lists).
  std::map<std::string, std::map<std::string, double>> callee_z, caller_z;
  // Per node: robust z of the window's median self time against the baseline's self times
  // (median, MAD), over every trace that has the node, whatever its entry operation.
  std::map<NodeKey, std::pair<std::vector<double>, std::vector<double>>> samples;
  for (const auto& t : base) {
    for (const auto& [k, ns] : t.self_ns) samples[k].first.push_back(static_cast<double>(ns));
  }
  for (const auto& t : win) {
    for (const auto& [k, ns] : t.self_ns) samples[k].second.push_back(static_cast<double>(ns));
  }
  std::map<std::string, double> score;
  for (auto& [k, bw] : samples) {
    auto& [b, w] = bw;
    if (b.size() < kMinBaselineTraces || w.size() < kMinBaselineTraces) continue;
    const double mb = Median(&b), mw = Median(&w);
    for (double& v : b) v = std::abs(v - mb);
    const double spread = kMadToSigma * Median(&b) + kRiseFloorMs * kNsPerMs;
    const double z = (mw - mb) / spread;
    if (z <= 0) continue;
    const auto& [svc, op, peer] = k;
    if (peer.empty()) {
      score[svc] += z;
    } else {
      score[svc] += z / std::sqrt(static_cast<double>(edges_of[svc].size()));
      score[peer] += z / std::sqrt(static_cast<double>(edges_of[peer].size()));
      double& cz = callee_z[svc][peer];
      cz = std::max(cz, z);
      double& rz = caller_z[peer][svc];
      rz = std::max(rz, z);
    }
  }
  // Peers whose largest z reaches kSlowEdgeZ, largest first.
  auto slow = [](const std::map<std::string, double>& z_of) {
    std::vector<std::pair<double, std::string>> v;
    for (const auto& [peer, z] : z_of) {
      if (z >= kSlowEdgeZ) v.emplace_back(-z, peer);
    }
    std::sort(v.begin(), v.end());
    std::vector<std::string> out;
    for (auto& [nz, peer] : v) out.push_back(std::move(peer));
    return out;
  };
  for (const auto& [svc, v] : score) {
    SuspectService s;
    s.service = svc;
    s.score = v;
    s.callees = callees_of[svc].size();
    s.slow_callees = slow(callee_z[svc]);
    s.callers = callers_of[svc].size();
    s.slow_callers = slow(caller_z[svc]);
    a.suspects.push_back(std::move(s));
  }
  std::sort(a.suspects.begin(), a.suspects.end(),
            [](const SuspectService& x, const SuspectService& y) {
              return x.score != y.score ? x.score > y.score : x.service < y.service;
            });
  return a;
}

}  // namespace backsight::traces
