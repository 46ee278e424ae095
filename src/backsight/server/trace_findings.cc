#include "backsight/server/trace_findings.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backsight/core/file_util.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/server/alerts.h"
#include "backsight/server/json_body.h"
#include "backsight/server/query_params.h"

namespace backsight::server {

namespace {
constexpr const char* kRetryRatioSeries = "backsight_trace_retry_ratio";
constexpr const char* kAlertName = "BacksightTraceFinding";
// How often the ticker finalises quiet traces and sends alerts (ms): a finding shows at most
// this long after its trace's quiet period.
constexpr int kTickMs = 200;
// Findings listed by GET /api/v1/trace/findings without ?limit, and the most it lists.
constexpr size_t kDefaultLimit = 100;
constexpr unsigned long long kMaxLimit = 10'000;
// Findings per Alertmanager POST.
constexpr size_t kAlertsPerPost = 100;
// An alert stays active this many resend intervals (Prometheus sends endsAt = 4 x resend).
constexpr int64_t kAlertLifetimeResends = 4;
// Significant digits of the score in annotations (people read it).
constexpr int kScoreDigits = 4;
constexpr int64_t kNsPerMs = 1'000'000;
constexpr const char* kStateFile = "traces.state";
}  // namespace

TraceFindings::TraceFindings(const ServeConfig& config, const std::unique_ptr<Engine>& engine)
    : cfg_(config), engine_(engine), stats_(config.trace_max_findings) {
  // Each shard holds its share of the open traces (rounded up, at least one).
  const size_t per_shard = std::max<size_t>(
      1, static_cast<size_t>((config.trace_max_open_traces + kShards - 1) / kShards));
  for (size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>(config.trace_wait_ms * kNsPerMs, per_shard, &stats_));
  }
}

TraceFindings::~TraceFindings() { Stop(); }

void TraceFindings::Add(const ingest::SpanBatch& batch) {
  if (!cfg_.trace_findings || batch.spans.empty()) return;
  const int64_t now = WallNowNs();
  // Per-span preparation outside any lock, into per-thread buffers reused from batch to batch:
  // the trace key, its shard, the normalised db statement (offsets into `stmts`).
  struct Prepared {
    uint64_t key;
    uint32_t stmt_begin, stmt_size;
  };
  thread_local std::vector<Prepared> prep;
  thread_local std::vector<uint32_t> order;  // span indices grouped by shard
  thread_local std::string stmts, scratch;
  const size_t n = batch.spans.size();
  prep.resize(n);
  order.resize(n);
  stmts.clear();
  std::array<uint32_t, kShards + 1> start{};  // order[start[s], start[s + 1]): shard s
  int64_t newest = INT64_MIN;
  for (size_t i = 0; i < n; ++i) {
    const ingest::Span& s = batch.spans[i];
    Prepared& p = prep[i];
    p.key = traces::FindingsDetector::TraceKey(s.trace_id);
    p.stmt_begin = static_cast<uint32_t>(stmts.size());
    p.stmt_size = 0;
    if (std::string_view stmt = traces::FindingsDetector::StatementOf(s); !stmt.empty()) {
      traces::NormalizeSqlStatement(stmt, &scratch);
      stmts += scratch;
      p.stmt_size = static_cast<uint32_t>(scratch.size());
    }
    ++start[ShardOf(p.key) + 1];
    newest = std::max(newest, s.end_ns);
  }
  for (size_t s = 0; s < kShards; ++s) start[s + 1] += start[s];
  std::array<uint32_t, kShards> fill;
  std::copy(start.begin(), start.end() - 1, fill.begin());
  for (size_t i = 0; i < n; ++i) order[fill[ShardOf(prep[i].key)]++] = static_cast<uint32_t>(i);
  // Within a shard, the spans of one trace one after another (in arrival order): OTLP groups a
  // request's spans by resource (service), so a trace's spans are spread over the request; this
  // way each trace is looked up once per request and its spans appended while in cache.
  for (size_t s = 0; s < kShards; ++s) {
    std::sort(order.begin() + start[s], order.begin() + start[s + 1], [](uint32_t a, uint32_t b) {
      return prep[a].key != prep[b].key ? prep[a].key < prep[b].key : a < b;
    });
  }
  // The newest span end of all shards moves every shard's span time on.
  int64_t span_time = span_time_ns_.load(std::memory_order_relaxed);
  while (newest > span_time &&
         !span_time_ns_.compare_exchange_weak(span_time, newest, std::memory_order_relaxed)) {
  }
  span_time = std::max(span_time, newest);
  auto add_shard = [&](size_t s) {
    traces::FindingsDetector& d = shards_[s]->detector;
    for (uint32_t k = start[s]; k < start[s + 1]; ++k) {
      const Prepared& p = prep[order[k]];
      d.Add(batch.spans[order[k]], now, p.key,
            std::string_view(stmts).substr(p.stmt_begin, p.stmt_size));
    }
    d.AdvanceSpanTime(span_time);
  };
  // Shards another worker holds are visited after the free ones.
  std::array<bool, kShards> done{};
  size_t left = 0;
  for (size_t s = 0; s < kShards; ++s) {
    if (start[s] == start[s + 1]) {
      done[s] = true;
      continue;
    }
    std::unique_lock lock(shards_[s]->mu, std::try_to_lock);
    if (!lock.owns_lock()) {
      ++left;
      continue;
    }
    add_shard(s);
    done[s] = true;
  }
  for (size_t s = 0; s < kShards && left > 0; ++s) {
    if (done[s]) continue;
    std::lock_guard lock(shards_[s]->mu);
    add_shard(s);
    --left;
  }
  std::vector<traces::RetryRatioBucket> closed;
  stats_.TakeRetryRatios(&closed);
  SubmitRetryRatios(closed);
}

void TraceFindings::SubmitRetryRatios(const std::vector<traces::RetryRatioBucket>& closed) {
  if (closed.empty() || !engine_) return;
  std::vector<TimeSeries> series;
  series.reserve(closed.size());
  for (const auto& b : closed) {
    TimeSeries ts;
    ts.labels = {
        {"__name__", kRetryRatioSeries}, {"service_name", b.service}, {"span_name", b.operation}};
    ts.kind = MetricKind::kGauge;
    ts.samples.push_back({b.bucket_start_ns, b.ratio()});
    series.push_back(std::move(ts));
  }
  const size_t n = series.size();
  if (engine_->Submit(std::move(series)).ok()) {
    ratio_samples_submitted_ += n;
  } else {
    ratio_samples_dropped_ += n;  // queues full: these buckets are lost
  }
}

std::vector<traces::Finding> TraceFindings::Findings(size_t limit) const {
  std::vector<traces::Finding> out = stats_.Findings();
  if (out.size() > limit) out.resize(limit);
  return out;
}

void TraceFindings::Register(HttpServer* http) {
  http->Route("GET", "/api/v1/trace/findings", [this](const HttpRequest& req, HttpResponse* res) {
    size_t limit = kDefaultLimit;
    if (!LimitParam(req, kMaxLimit, &limit, res)) return;
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : Findings(limit)) {
      nlohmann::json j = {{"kind", f.kind},
                          {"service", f.service},
                          {"operation", f.operation},
                          {"score", f.score},
                          {"example_trace_id", f.example_trace_id},
                          {"explanation", f.explanation},
                          {"count", f.count},
                          {"first_seen", FormatRfc3339(f.first_seen_ns)},
                          {"last_seen", FormatRfc3339(f.last_seen_ns)}};
      if (!f.upstream_services.empty()) j["upstream_services"] = f.upstream_services;
      arr.push_back(std::move(j));
    }
    res->SetContent(JsonDump({{"status", "success"}, {"findings", std::move(arr)}}),
                    "application/json");
  });
}

Status TraceFindings::Open() {
  if (!cfg_.trace_findings || cfg_.state_dir.empty()) return Status::OK();
  const std::string path = cfg_.state_dir + "/" + kStateFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::OK();
  std::string data;
  BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &data));
  if (Status st = stats_.RestoreState(data); !st.ok()) {
    return Status::Corruption(path + ": " + st.message() +
                              " (move it aside to start without the saved trace findings)");
  }
  const int64_t now = WallNowNs();
  for (const auto& f : stats_.Findings()) {
    sent_[{f.kind, f.service, f.operation}] = {f.count, now};
    forwarded_[{f.kind, f.service, f.operation}] = f.count;
  }
  return Status::OK();
}

Status TraceFindings::Checkpoint() {
  if (!cfg_.trace_findings || cfg_.state_dir.empty()) return Status::OK();
  std::string data;
  stats_.SaveState(&data);
  return WriteFileAtomically(cfg_.state_dir + "/" + kStateFile, data);
}

void TraceFindings::Start() {
  if (!cfg_.trace_findings) return;
  {
    std::lock_guard lock(stop_mu_);
    if (!stop_) return;
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void TraceFindings::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& shard : shards_) {  // the open traces' findings go into the last checkpoint
    std::lock_guard lock(shard->mu);
    shard->detector.Flush();
  }
}

void TraceFindings::Loop() {
  std::unique_lock lock(stop_mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(kTickMs));
    if (stop_) break;
    lock.unlock();
    Tick(WallNowNs());
    lock.lock();
  }
}

void TraceFindings::Tick(int64_t now) {
  std::vector<traces::RetryRatioBucket> closed;
  std::vector<traces::Finding> findings;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    shard->detector.ExpireQuiet(now);
  }
  stats_.TakeRetryRatios(&closed);
  if (ItemAlertsOn(cfg_) || forward_) findings = stats_.Findings();
  SubmitRetryRatios(closed);
  Forward(findings);
  if (ItemAlertsOn(cfg_)) SendAlerts(findings, now);
}

void TraceFindings::Forward(const std::vector<traces::Finding>& findings) {
  if (!forward_) return;
  for (const auto& f : findings) {
    uint64_t& count = forwarded_[{f.kind, f.service, f.operation}];
    if (f.count <= count) continue;
    count = f.count;
    forward_(f);
  }
  // Bounded like sent_: past it every kept finding counts as forwarded again at the next tick.
  if (forwarded_.size() > 2 * cfg_.trace_max_findings) {
    forwarded_.clear();
    for (const auto& f : findings) forwarded_[{f.kind, f.service, f.operation}] = f.count;
  }
}

void TraceFindings::SendAlerts(const std::vector<traces::Finding>& findings, int64_t now) {
  const int64_t resend_ns = cfg_.alert_resend_ms * kNsPerMs;
  nlohmann::json arr = nlohmann::json::array();
  auto post = [&] {
    if (arr.empty()) return;
    ++alert_posts_;
    if (!PostAlertmanagerAlerts(cfg_.alertmanager_url, JsonDump(arr))) ++alert_errors_;
    arr = nlohmann::json::array();
  };
  for (const auto& f : findings) {
    Sent& sent = sent_[{f.kind, f.service, f.operation}];
    // New, or seen again since the last send and due for a resend.
    const bool due = sent.count == 0 || (f.count > sent.count && now - sent.wall_ns >= resend_ns);
    if (!due) continue;
    const std::string score = FormatDouble(f.score, kScoreDigits);
    arr.push_back(
        {{"labels",
          {{"alertname", kAlertName},
           {"kind", f.kind},
           {"service", f.service},
           {"operation", f.operation}}},
         {"annotations",
          {{"summary", f.kind + " in " + f.service + " (" + f.operation + "): " + f.explanation},
           {"example_trace_id", f.example_trace_id},
           {"count", std::to_string(f.count)},
           {"score", score}}},
         {"startsAt", FormatRfc3339(now)},
         {"endsAt", FormatRfc3339(now + kAlertLifetimeResends * resend_ns)},
         {"generatorURL", cfg_.external_url + "/api/v1/trace/findings"}});
    sent = {f.count, now};
    if (arr.size() >= kAlertsPerPost) post();
  }
  post();
  // Forget the sent state of findings the detector forgot (bounded like the findings).
  if (sent_.size() > 2 * cfg_.trace_max_findings) sent_.clear();
}

void TraceFindings::MirrorMetrics(SelfMetrics* m) const {
  if (!cfg_.trace_findings) return;
  uint64_t open = 0, finalised = 0, early = 0, dropped = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    open += shard->detector.open_traces();
    finalised += shard->detector.finalised_traces();
    early += shard->detector.traces_finalised_early();
    dropped += shard->detector.dropped_spans();
  }
  const uint64_t evicted = stats_.evicted_findings();
  const size_t kept = stats_.kept_findings();
  m->SetGauge("backsight_trace_findings_open_traces",
              "Traces grouped for findings, not analysed yet.", open);
  m->SetCounter("backsight_trace_findings_traces_total", "Traces analysed for findings.",
                finalised);
  m->SetCounter("backsight_trace_findings_traces_early_total",
                "Traces analysed before their quiet period because traces.max_open_traces were "
                "open.",
                early);
  m->SetCounter("backsight_trace_findings_spans_dropped_total",
                "Spans not analysed because their trace already held " +
                    std::to_string(traces::FindingsDetector::kMaxSpansPerTrace) + " spans.",
                dropped);
  m->SetGauge("backsight_trace_findings", "Trace findings kept (one per kind, service, operation).",
              kept);
  m->SetCounter("backsight_trace_findings_evicted_total",
                "Trace findings forgotten to keep traces.max_findings.", evicted);
  m->SetCounter("backsight_trace_retry_ratio_samples_dropped_total",
                "Retry ratio samples not submitted (engine queues full).",
                ratio_samples_dropped_.load());
  m->SetCounter("backsight_trace_finding_alert_posts_total",
                "Alertmanager POSTs of trace finding alerts.", alert_posts_.load());
  m->SetCounter("backsight_trace_finding_alert_post_errors_total",
                "Failed Alertmanager POSTs of trace finding alerts (sent again when the finding "
                "is seen again a resend interval later).",
                alert_errors_.load());
}

}  // namespace backsight::server
