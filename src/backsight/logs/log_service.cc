#include "backsight/logs/log_service.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <unordered_map>
#include <utility>

#include "backsight/core/byte_io.h"

namespace backsight::logs {

namespace {

// Saved-state header (docs/formats.md): "BSLG" little-endian, version 1.
constexpr uint32_t kStateMagic = 0x474C5342;
constexpr uint32_t kStateVersion = 1;

// Event kinds, indexed like the scorer's reasons below.
constexpr const char* kReasons[] = {"new", "rare", "rate", "level"};
constexpr const char* kKinds[] = {"new_template", "rare_template", "template_surge", "error_burst"};

int KindIndex(std::string_view reason) {
  for (int i = 0; i < 4; ++i) {
    if (reason == kReasons[i]) return i;
  }
  return 0;
}

int64_t BucketOf(TimestampNs ts, int64_t bucket_ns) {
  int64_t b = ts / bucket_ns;
  return (ts % bucket_ns < 0) ? b - 1 : b;
}

std::string Cut(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

struct LogService::Service {
  Service(std::string n, const LogPipelineOptions& o) : name(std::move(n)), pipeline(o) {}
  std::string name;
  std::mutex mu;
  // Batch order (AddBatch): tickets are issued under the locks of all of a batch's services;
  // lines are mined in ticket order, one service at a time, so batches touching the same
  // services pipeline over threads instead of holding every lock at once.
  std::condition_variable turn;
  uint64_t tickets_issued = 0;
  uint64_t tickets_served = 0;
  LogPipeline pipeline;
  bool have_bucket = false;
  int64_t bucket = 0;                                 // index of the open bucket
  std::unordered_map<uint32_t, uint64_t> counts;      // per template, in the open bucket
  std::map<std::pair<uint32_t, int>, uint64_t> open;  // (template, kind) -> latest event id
  LogRecord rec;                                      // scratch
};

LogService::LogService(const LogServiceOptions& options) : options_(options) {
  options_.max_services = std::max<size_t>(options_.max_services, 1);
  options_.max_events = std::max<size_t>(options_.max_events, 1);
}

LogService::~LogService() = default;

LogService::Service* LogService::FindOrCreate(std::string_view service, bool* refused) {
  *refused = false;
  {
    std::shared_lock lock(services_mu_);
    auto it = services_.find(service);
    if (it != services_.end()) return it->second.get();
  }
  std::unique_lock lock(services_mu_);
  auto it = services_.find(service);
  if (it != services_.end()) return it->second.get();
  if (services_.size() >= options_.max_services) {
    *refused = true;
    return nullptr;
  }
  auto s = std::make_unique<Service>(std::string(service), PipelineOptions(service));
  Service* raw = s.get();
  services_.emplace(std::string(service), std::move(s));
  return raw;
}

Status LogService::Add(std::string_view service, std::span<const LogEntry> entries,
                       LogAddResult* result) {
  const ServiceEntries one{service, entries};
  return AddBatch({&one, 1}, nullptr, result);
}

Status LogService::AddBatch(std::span<const ServiceEntries> batch,
                            const std::function<Status()>& before, LogAddResult* result) {
  LogAddResult local;
  if (!result) result = &local;
  std::vector<Service*> targets(batch.size(), nullptr);
  std::string refused_name;
  uint64_t refused_lines = 0, refused_items = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    bool refused;
    targets[i] = FindOrCreate(batch[i].service, &refused);
    if (!targets[i]) {
      ++refused_items;
      refused_lines += batch[i].entries.size();
      refused_name = batch[i].service.substr(0, 128);
    }
  }
  std::vector<Service*> order;
  for (Service* s : targets) {
    if (s) order.push_back(s);
  }
  std::sort(order.begin(), order.end(),
            [](const Service* a, const Service* b) { return a->name < b->name; });
  order.erase(std::unique(order.begin(), order.end()), order.end());
  // 1. Under the locks of every service involved (taken in name order: no deadlock), run
  // `before` and take one ticket per service.
  std::vector<uint64_t> tickets;  // (filled by push_back: GCC 12 warns on a sized vector here)
  tickets.reserve(order.size());
  {
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(order.size());
    for (Service* s : order) locks.emplace_back(s->mu);
    if (before) BACKSIGHT_RETURN_IF_ERROR(before());
    for (Service* s : order) tickets.push_back(s->tickets_issued++);
  }
  // 2. Per service, when its turn comes, mine its items in batch order. Tickets were issued in
  // one total order of batches, and every batch visits its services in name order, so the
  // batch holding the oldest unserved ticket can always proceed.
  const uint64_t anomalous_before = result->anomalous;
  uint64_t lines = 0;
  int64_t templates_delta = 0;  // kept in stats_ so that stats() need not lock any service
  for (size_t k = 0; k < order.size(); ++k) {
    Service* s = order[k];
    std::unique_lock lock(s->mu);
    s->turn.wait(lock, [&] { return s->tickets_served == tickets[k]; });
    templates_delta -= static_cast<int64_t>(s->pipeline.miner().num_templates());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (targets[i] != s) continue;
      AddLocked(s, batch[i].entries, result);
      lines += batch[i].entries.size();
    }
    templates_delta += static_cast<int64_t>(s->pipeline.miner().num_templates());
    EndTurn(s, &lock);
  }
  std::lock_guard lock(stats_mu_);
  stats_.templates += templates_delta;
  stats_.lines += lines;
  stats_.anomalous += result->anomalous - anomalous_before;
  if (refused_items == 0) return Status::OK();
  stats_.services_refused += refused_items;
  stats_.lines_refused += refused_lines;
  return Status::ResourceExhausted(Reason::kQueueFull,
                                   "logs: service " + refused_name +
                                       " refused: " + std::to_string(options_.max_services) +
                                       " services known (logs.max_services)");
}

const LogPipelineOptions& LogService::PipelineOptions(std::string_view service) const {
  auto it = options_.service_pipelines.find(service);
  return it == options_.service_pipelines.end() ? options_.pipeline : it->second;
}

Status LogService::AddLines(std::string_view service, std::span<const std::string_view> lines,
                            TimestampNs clock_ns, LogAddResult* result) {
  LogAddResult local;
  if (!result) result = &local;
  bool refused;
  Service* s = FindOrCreate(service, &refused);
  if (!s) {
    std::lock_guard lock(stats_mu_);
    ++stats_.services_refused;
    stats_.lines_refused += lines.size();
    return Status::ResourceExhausted(Reason::kQueueFull,
                                     "logs: service " + std::string(service.substr(0, 128)) +
                                         " refused: " + std::to_string(options_.max_services) +
                                         " services known (logs.max_services)");
  }
  const uint64_t anomalous_before = result->anomalous;
  int64_t templates_delta = 0;
  {
    std::unique_lock lock(s->mu);
    // Take a turn like AddBatch so that batches of this service stay in order.
    const uint64_t ticket = s->tickets_issued++;
    s->turn.wait(lock, [&] { return s->tickets_served == ticket; });
    templates_delta -= static_cast<int64_t>(s->pipeline.miner().num_templates());
    for (std::string_view line : lines) {
      if (s->pipeline.AddLine(line, &s->rec, clock_ns)) AfterRecord(s, result);
    }
    templates_delta += static_cast<int64_t>(s->pipeline.miner().num_templates());
    EndTurn(s, &lock);
  }
  std::lock_guard lock(stats_mu_);
  stats_.templates += templates_delta;
  stats_.lines += lines.size();
  stats_.anomalous += result->anomalous - anomalous_before;
  return Status::OK();
}

void LogService::AddLocked(Service* s, std::span<const LogEntry> entries, LogAddResult* result) {
  for (const LogEntry& e : entries) {
    s->pipeline.AddEntry(e, &s->rec);
    AfterRecord(s, result);
  }
}

void LogService::EndTurn(Service* s, std::unique_lock<std::mutex>* lock) {
  ++s->tickets_served;
  lock->unlock();
  s->turn.notify_all();
}

void LogService::AfterRecord(Service* s, LogAddResult* result) {
  const int64_t bucket_ns = options_.pipeline.anomaly.bucket_ns;
  const int64_t b = BucketOf(s->rec.ts, bucket_ns);
  if (!s->have_bucket) {
    s->have_bucket = true;
    s->bucket = b;
  } else if (b > s->bucket) {
    for (const auto& [id, n] : s->counts) {
      result->counts.push_back({s->name, id, s->bucket * bucket_ns, n});
    }
    s->counts.clear();
    s->bucket = b;
  }
  ++s->counts[s->rec.parse.template_id];
  if (s->rec.scores.is_anomaly) {
    ++result->anomalous;
    Record(s, s->rec, result);
  }
  for (const TemplateRateEvent& re : s->rec.rate_events) RateEvent(s, re, result);
}

LogAnomalyEvent* LogService::FindEvent(uint64_t id) {
  if (events_.empty() || id < events_.front().id || id > events_.back().id) return nullptr;
  return &events_[id - events_.front().id];
}

void LogService::KeepEvent(LogAnomalyEvent&& e, LogAddResult* result) {
  result->opened.push_back(e);
  events_.push_back(std::move(e));
  while (events_.size() > options_.max_events) events_.pop_front();
  std::lock_guard slock(stats_mu_);
  ++stats_.events;
}

void LogService::Record(Service* s, const LogRecord& rec, LogAddResult* result) {
  const int kind = KindIndex(rec.scores.reason);
  const auto key = std::make_pair(rec.parse.template_id, kind);
  std::lock_guard lock(events_mu_);
  if (auto it = s->open.find(key); it != s->open.end()) {
    LogAnomalyEvent* e = FindEvent(it->second);
    if (e && rec.ts - e->last_ts <= options_.pipeline.anomaly.bucket_ns) {
      ++e->lines;
      e->score = std::max(e->score, rec.scores.score);
      e->last_ts = std::max(e->last_ts, rec.ts);
      if (e->examples.size() < options_.examples_per_event) {
        e->examples.push_back(Cut(rec.line, options_.example_bytes));
      }
      return;
    }
  }
  LogAnomalyEvent e;
  e.id = next_event_id_++;
  e.kind = kKinds[kind];
  e.service = s->name;
  e.template_id = rec.parse.template_id;
  if (const LogTemplate* t = s->pipeline.Template(rec.parse.template_id)) e.template_text = t->text;
  e.score = rec.scores.score;
  e.first_ts = e.last_ts = rec.ts;
  e.lines = 1;
  if (options_.examples_per_event > 0) e.examples.push_back(Cut(rec.line, options_.example_bytes));
  s->open[key] = e.id;
  KeepEvent(std::move(e), result);
}

void LogService::RateEvent(Service* s, const TemplateRateEvent& re, LogAddResult* result) {
  LogAnomalyEvent e;
  e.kind = re.template_id == 0 ? kKinds[3] : "template_rate";
  e.service = s->name;
  e.template_id = re.template_id;
  if (const LogTemplate* t = s->pipeline.Template(re.template_id)) {
    e.template_text = t->text;
    if (options_.examples_per_event > 0 && !t->example.empty()) {
      e.examples.push_back(Cut(t->example, options_.example_bytes));
    }
  }
  e.score = re.anomaly_score;
  e.first_ts = re.bucket_start_ns;
  e.last_ts = re.bucket_start_ns + options_.pipeline.anomaly.bucket_ns;
  e.lines = re.count;
  std::lock_guard lock(events_mu_);
  e.id = next_event_id_++;
  KeepEvent(std::move(e), result);
}

std::vector<std::string> LogService::Services() const {
  std::shared_lock lock(services_mu_);
  std::vector<std::string> out;
  for (const auto& [name, s] : services_) out.push_back(name);
  return out;
}

Status LogService::Templates(std::string_view service, size_t limit,
                             std::vector<LogTemplateInfo>* out) const {
  out->clear();
  std::shared_lock lock(services_mu_);
  auto it = services_.find(service);
  if (it == services_.end()) {
    return Status::NotFound("logs: no service " + std::string(service.substr(0, 128)));
  }
  Service* s = it->second.get();
  std::lock_guard slock(s->mu);
  const int64_t bucket_ns = options_.pipeline.anomaly.bucket_ns;
  for (const LogTemplate* t : s->pipeline.miner().Templates()) {
    LogTemplateInfo info;
    info.id = t->id;
    info.text = t->text;
    info.count = t->count;
    info.example = t->example;
    if (const TemplateActivity* a = s->pipeline.scorer().Activity(t->id)) {
      info.first_seen_ns = a->first_seen_ns;
      info.last_seen_ns = a->last_bucket * bucket_ns;
    }
    out->push_back(std::move(info));
  }
  std::stable_sort(
      out->begin(), out->end(),
      [](const LogTemplateInfo& a, const LogTemplateInfo& b) { return a.count > b.count; });
  if (out->size() > limit) out->resize(limit);
  return Status::OK();
}

std::vector<LogAnomalyEvent> LogService::RecentEvents(size_t limit) const {
  std::lock_guard lock(events_mu_);
  std::vector<LogAnomalyEvent> out;
  for (auto it = events_.rbegin(); it != events_.rend() && out.size() < limit; ++it) {
    out.push_back(*it);
  }
  return out;
}

LogServiceStats LogService::stats() const {
  LogServiceStats st;
  {
    std::lock_guard lock(stats_mu_);
    st = stats_;
  }
  std::shared_lock lock(services_mu_);
  st.services = services_.size();
  return st;
}

void LogService::MemoryEstimate(uint64_t* bytes, uint64_t* templates) const {
  uint64_t b = 0, n = 0;
  std::string scratch;
  std::shared_lock lock(services_mu_);
  for (const auto& [name, s] : services_) {
    std::lock_guard slock(s->mu);
    for (const LogTemplate* t : s->pipeline.miner().Templates()) {
      ++n;
      b += sizeof(LogTemplate) + t->text.capacity() + t->example.capacity() +
           t->hashes.capacity() * sizeof(uint64_t) + t->kinds.capacity();
      b += t->tokens.capacity() * sizeof(std::string);
      for (const std::string& tok : t->tokens) {
        if (tok.capacity() > 15) b += tok.capacity() + 1;  // beyond the small-string buffer
      }
      if (const TemplateActivity* a = s->pipeline.scorer().Activity(t->id)) {
        b += sizeof(TemplateActivity) + a->recent.capacity() * sizeof(a->recent[0]);
        if (a->detector) {
          scratch.clear();
          a->detector->SaveState(&scratch);
          b += scratch.size();
        }
      }
    }
  }
  *bytes = b;
  *templates = n;
}

void LogService::SaveState(std::string* out) const {
  ByteWriter w(out);
  w.PutU32(kStateMagic);
  w.PutU32(kStateVersion);
  std::shared_lock lock(services_mu_);
  w.PutU64(services_.size());
  std::string part;
  for (const auto& [name, s] : services_) {
    std::lock_guard slock(s->mu);
    w.PutString(name);
    part.clear();
    s->pipeline.SaveState(&part);
    w.PutString(part);
    w.PutU8(s->have_bucket ? 1 : 0);
    w.PutI64(s->bucket);
    std::vector<std::pair<uint32_t, uint64_t>> counts(s->counts.begin(), s->counts.end());
    std::sort(counts.begin(), counts.end());
    w.PutU64(counts.size());
    for (const auto& [id, n] : counts) {
      w.PutU32(id);
      w.PutU64(n);
    }
  }
}

Status LogService::RestoreState(std::string_view in) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kStateMagic, kStateVersion, "log service state"));
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&n, "service count"));
  // All saved services come back even past a lowered max_services (the cap refuses new ones);
  // each takes at least 2 bytes, which bounds a corrupt count.
  if (n > r.remaining() / 2) {
    return Status::Corruption("log service state: " + std::to_string(n) + " services in " +
                              std::to_string(r.remaining()) + " bytes");
  }
  std::map<std::string, std::unique_ptr<Service>, std::less<>> services;
  std::string name, part;
  for (uint64_t i = 0; i < n; ++i) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&name, "service name"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&part, "pipeline state"));
    auto s = std::make_unique<Service>(name, PipelineOptions(name));
    Status st = s->pipeline.RestoreState(part);
    if (!st.ok()) {
      return Status::Corruption("log service state: service " + name + ": " + st.message());
    }
    uint8_t have = 0;
    uint64_t ncounts = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&have, "have_bucket"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s->bucket, "bucket"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&ncounts, "count entries"));
    if (have > 1 || ncounts > r.remaining() / 12) {
      return Status::Corruption("log service state: service " + name +
                                ": bad bucket counts at byte " + std::to_string(r.position()));
    }
    s->have_bucket = have == 1;
    for (uint64_t k = 0; k < ncounts; ++k) {
      uint32_t id;
      uint64_t c;
      BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&id, "template id"));
      BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&c, "count"));
      s->counts[id] = c;
    }
    if (services.count(name)) {
      return Status::Corruption("log service state: service " + name + " twice");
    }
    services.emplace(name, std::move(s));
  }
  if (!r.done()) {
    return Status::Corruption("log service state: trailing bytes at byte " +
                              std::to_string(r.position()));
  }
  uint64_t templates = 0;
  for (const auto& [name, s] : services) templates += s->pipeline.miner().num_templates();
  std::unique_lock lock(services_mu_);
  services_ = std::move(services);
  std::lock_guard slock(stats_mu_);
  stats_.templates = templates;
  return Status::OK();
}

}  // namespace backsight::logs
