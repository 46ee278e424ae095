#include "backsight/traces/findings_stats.h"

#include <algorithm>
#include <cstdio>

#include "backsight/core/byte_io.h"

namespace backsight::traces {
namespace {

// SaveState header (docs/formats.md §5d): "BSTF" little-endian, version 1.
constexpr uint32_t kStateMagic = 0x46545342;
constexpr uint32_t kStateVersion = 1;
// Fewest bytes of one saved histogram entry, statistics entry and finding (for count checks
// before allocating).
constexpr size_t kMinHistEntryBytes = 2;
constexpr size_t kMinCountsBytes = 5;
constexpr size_t kMinFindingBytes = 21;

// Median of a count histogram (the lower median), 0 when empty.
size_t Median(const std::map<size_t, uint64_t>& hist) {
  uint64_t total = 0;
  for (const auto& [v, n] : hist) total += n;
  uint64_t seen = 0;
  for (const auto& [v, n] : hist) {
    seen += n;
    if (2 * seen >= total) return v;
  }
  return 0;
}

void PutHist(const std::map<size_t, uint64_t>& h, ByteWriter* w) {
  w->PutVarint(h.size());
  for (const auto& [v, n] : h) {
    w->PutVarint(v);
    w->PutVarint(n);
  }
}

Status GetHist(ByteReader* r, std::map<size_t, uint64_t>* h) {
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&n, "histogram size"));
  if (n > r->remaining() / kMinHistEntryBytes) {
    return Status::Corruption("trace findings state: histogram size " + std::to_string(n) +
                              " exceeds the bytes left");
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t v = 0, c = 0;
    BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&v, "histogram value"));
    BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&c, "histogram count"));
    (*h)[static_cast<size_t>(v)] += c;
  }
  return Status::OK();
}

}  // namespace

FindingsStats::Counts* FindingsStats::CountsOf(std::string_view service,
                                               std::string_view operation) {
  key_.assign(service);
  key_ += '\0';
  key_ += operation;
  if (auto cached = counts_index_.find(std::string_view(key_)); cached != counts_index_.end()) {
    return cached->second;
  }
  if (counts_.size() >= kMaxOperations) return nullptr;  // not scored
  auto [it, inserted] =
      counts_.try_emplace(std::make_pair(std::string(service), std::string(operation)));
  counts_index_.emplace(key_, &it->second);
  return &it->second;
}

FindingsStats::Counts* FindingsStats::CountsOf(std::string_view service, std::string_view operation,
                                               CountsRef* ref) {
  if (ref == nullptr) return CountsOf(service, operation);
  if (ref->counts != nullptr && ref->generation == generation_) {
    return static_cast<Counts*>(ref->counts);
  }
  Counts* counts = CountsOf(service, operation);
  ref->counts = counts;  // null (past kMaxOperations) is looked up again next time
  ref->generation = generation_;
  return counts;
}

FindingsStats::Aggregate& FindingsStats::Found(const char* kind, std::string_view service,
                                               std::string_view operation, int64_t seen_ns) {
  Key key(kind, service, operation);
  auto it = found_.find(key);
  if (it == found_.end()) {
    if (found_.size() >= max_findings_) {  // forget the least recently seen
      auto oldest = found_.begin();
      for (auto f = found_.begin(); f != found_.end(); ++f) {
        if (f->second.last_ns < oldest->second.last_ns) oldest = f;
      }
      found_.erase(oldest);
      ++evicted_findings_;
    }
    it = found_.emplace(std::move(key), Aggregate()).first;
    it->second.first_ns = it->second.last_ns = seen_ns;
  }
  Aggregate& a = it->second;
  a.first_ns = std::min(a.first_ns, seen_ns);
  a.last_ns = std::max(a.last_ns, seen_ns);
  ++a.count;
  return a;
}

void FindingsStats::Add(const TraceReport& r) {
  std::lock_guard lock(mu_);
  // Origins first: the order the single-threaded detector always counted them in.
  for (const auto& o : r.origins) {
    const size_t reached = o.reached_end - o.reached_begin;
    if (Counts* counts = CountsOf(o.service, o.operation, o.ref)) ++counts->cascades[reached];
    if (reached == 0) continue;
    Aggregate& a = Found(kErrorCascade, o.service, o.operation, o.start_ns);
    if (reached > a.worst) {
      a.worst = reached;
      a.example_trace_id = r.trace_id;
    }
    for (size_t k = o.reached_begin; k < o.reached_end; ++k) {
      if (a.upstream.size() >= kMaxUpstreamServices) break;
      a.upstream.emplace(r.reached[k]);
    }
  }
  for (const auto& g : r.groups) {
    retry_windows_.Add(g.service, g.name, g.start_ns, g.calls, g.retries, &retry_closed_);
    if (Counts* counts = CountsOf(g.service, g.operation, g.ref)) {
      ++counts->calls[g.calls];
      ++counts->retries[g.retries];
    }
    if (g.kind == nullptr) continue;
    Aggregate& a = Found(g.kind, g.service, g.operation, g.start_ns);
    if (g.value > a.worst) {
      a.worst = g.value;
      a.example_trace_id = r.trace_id;
    }
  }
}

void FindingsStats::TakeRetryRatios(std::vector<RetryRatioBucket>* out, bool flush) {
  std::lock_guard lock(mu_);
  if (flush) retry_windows_.Flush(INT64_MAX, &retry_closed_);
  for (auto& b : retry_closed_) out->push_back(std::move(b));
  retry_closed_.clear();
}

uint64_t FindingsStats::evicted_findings() const {
  std::lock_guard lock(mu_);
  return evicted_findings_;
}

size_t FindingsStats::kept_findings() const {
  std::lock_guard lock(mu_);
  return found_.size();
}

void FindingsStats::SaveState(std::string* out) const {
  std::lock_guard lock(mu_);
  ByteWriter w(out);
  w.PutU32(kStateMagic);
  w.PutU32(kStateVersion);
  w.PutVarint(counts_.size());
  for (const auto& [key, c] : counts_) {
    w.PutString(key.first);
    w.PutString(key.second);
    PutHist(c.calls, &w);
    PutHist(c.retries, &w);
    PutHist(c.cascades, &w);
  }
  w.PutVarint(found_.size());
  for (const auto& [key, a] : found_) {
    w.PutString(std::get<0>(key));
    w.PutString(std::get<1>(key));
    w.PutString(std::get<2>(key));
    w.PutVarint(a.worst);
    w.PutVarint(a.count);
    w.PutString(a.example_trace_id);
    w.PutI64(a.first_ns);
    w.PutI64(a.last_ns);
    w.PutVarint(a.upstream.size());
    for (const auto& u : a.upstream) w.PutString(u);
  }
}

Status FindingsStats::RestoreState(std::string_view data) {
  ByteReader r(data);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kStateMagic, kStateVersion, "trace findings state"));
  std::map<std::pair<std::string, std::string>, Counts> counts;
  std::map<Key, Aggregate> found;
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "operations"));
  if (n > r.remaining() / kMinCountsBytes) {
    return Status::Corruption("trace findings state: " + std::to_string(n) +
                              " operations exceed the bytes left");
  }
  for (uint64_t i = 0; i < n; ++i) {
    std::pair<std::string, std::string> key;
    Counts c;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&key.first, "operation service"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&key.second, "operation name"));
    BACKSIGHT_RETURN_IF_ERROR(GetHist(&r, &c.calls));
    BACKSIGHT_RETURN_IF_ERROR(GetHist(&r, &c.retries));
    BACKSIGHT_RETURN_IF_ERROR(GetHist(&r, &c.cascades));
    if (counts.size() < kMaxOperations) counts[std::move(key)] = std::move(c);
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "findings"));
  if (n > r.remaining() / kMinFindingBytes) {
    return Status::Corruption("trace findings state: " + std::to_string(n) +
                              " findings exceed the bytes left");
  }
  for (uint64_t i = 0; i < n; ++i) {
    std::string kind, service, operation;
    Aggregate a;
    uint64_t worst = 0, ups = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&kind, "finding kind"));
    if (kind != kNPlusOne && kind != kRetryStorm && kind != kErrorCascade) {
      return Status::Corruption("trace findings state: unknown finding kind '" + kind + "'");
    }
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&service, "finding service"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&operation, "finding operation"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&worst, "finding worst"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&a.count, "finding count"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&a.example_trace_id, "finding example"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&a.first_ns, "finding first seen"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&a.last_ns, "finding last seen"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&ups, "finding upstream services"));
    if (ups > kMaxUpstreamServices) {
      return Status::Corruption("trace findings state: " + std::to_string(ups) +
                                " upstream services, more than " +
                                std::to_string(kMaxUpstreamServices));
    }
    for (uint64_t u = 0; u < ups; ++u) {
      std::string name;
      BACKSIGHT_RETURN_IF_ERROR(r.GetString(&name, "finding upstream service"));
      a.upstream.insert(std::move(name));
    }
    a.worst = static_cast<size_t>(worst);
    if (found.size() < max_findings_) {
      found[Key(std::move(kind), std::move(service), std::move(operation))] = std::move(a);
    }
  }
  if (!r.done()) {
    return Status::Corruption("trace findings state: " + std::to_string(r.remaining()) +
                              " bytes after the last finding");
  }
  std::lock_guard lock(mu_);
  counts_ = std::move(counts);
  counts_index_.clear();
  ++generation_;
  found_ = std::move(found);
  return Status::OK();
}

std::vector<Finding> FindingsStats::Findings() const {
  std::vector<Finding> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, a] : found_) {
    const auto& [kind, service, operation] = key;
    auto c = counts_.find({service, operation});
    if (c == counts_.end()) continue;  // not scored (kMaxOperations)
    const bool storm = kind == kRetryStorm;
    const bool cascade = kind == kErrorCascade;
    const auto& hist = cascade ? c->second.cascades : storm ? c->second.retries : c->second.calls;
    uint64_t total = 0;
    for (const auto& [v, n] : hist) total += n;
    const size_t median = Median(hist);
    Finding f;
    f.kind = kind;
    f.service = service;
    f.operation = operation;
    f.score = static_cast<double>(a.worst) / static_cast<double>(std::max<size_t>(median, 1));
    f.example_trace_id = a.example_trace_id;
    f.count = a.count;
    f.first_seen_ns = a.first_ns;
    f.last_seen_ns = a.last_ns;
    char buf[256];
    if (cascade) {
      f.upstream_services.assign(a.upstream.begin(), a.upstream.end());
      std::string names;
      for (const auto& s : a.upstream) names += (names.empty() ? "" : ", ") + s;
      std::snprintf(buf, sizeof(buf),
                    "errors starting here reached up to %zu upstream services (median %zu over "
                    "%llu errors of the operation); %llu origin errors cascaded, to ",
                    a.worst, median, static_cast<unsigned long long>(total),
                    static_cast<unsigned long long>(a.count));
      f.explanation = buf + names;
    } else {
      std::snprintf(buf, sizeof(buf),
                    storm
                        ? "up to %zu calls after a failure under one parent (median %zu over %llu "
                          "parents calling it); seen under %llu parents"
                        : "up to %zu sequential calls under one parent (median %zu over %llu "
                          "parents calling it); seen under %llu parents",
                    a.worst, median, static_cast<unsigned long long>(total),
                    static_cast<unsigned long long>(a.count));
      f.explanation = buf;
    }
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& x, const Finding& y) { return x.score > y.score; });
  return out;
}

}  // namespace backsight::traces
