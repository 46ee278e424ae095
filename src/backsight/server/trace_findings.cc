#include "backsight/server/trace_findings.h"

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
    : cfg_(config),
      engine_(engine),
      detector_(config.trace_wait_ms * kNsPerMs, config.trace_max_open_traces,
                config.trace_max_findings) {}

TraceFindings::~TraceFindings() { Stop(); }

void TraceFindings::Add(const ingest::SpanBatch& batch) {
  if (!cfg_.trace_findings) return;
  const int64_t now = WallNowNs();
  std::vector<traces::RetryRatioBucket> closed;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : batch.spans) detector_.Add(s, now);
    detector_.TakeRetryRatios(&closed);
  }
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
  std::vector<traces::Finding> out;
  {
    std::lock_guard lock(mu_);
    out = detector_.Findings();
  }
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
  std::lock_guard lock(mu_);
  if (Status st = detector_.RestoreState(data); !st.ok()) {
    return Status::Corruption(path + ": " + st.message() +
                              " (move it aside to start without the saved trace findings)");
  }
  const int64_t now = WallNowNs();
  for (const auto& f : detector_.Findings()) {
    sent_[{f.kind, f.service, f.operation}] = {f.count, now};
    forwarded_[{f.kind, f.service, f.operation}] = f.count;
  }
  return Status::OK();
}

Status TraceFindings::Checkpoint() {
  if (!cfg_.trace_findings || cfg_.state_dir.empty()) return Status::OK();
  std::string data;
  {
    std::lock_guard lock(mu_);
    detector_.SaveState(&data);
  }
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
  std::lock_guard lock(mu_);
  detector_.Flush();  // the open traces' findings go into the last checkpoint
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
  {
    std::lock_guard lock(mu_);
    detector_.ExpireQuiet(now);
    detector_.TakeRetryRatios(&closed);
    if (ItemAlertsOn(cfg_) || forward_) findings = detector_.Findings();
  }
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
  uint64_t open, finalised, early, dropped, evicted;
  size_t kept;
  {
    std::lock_guard lock(mu_);
    open = detector_.open_traces();
    finalised = detector_.finalised_traces();
    early = detector_.traces_finalised_early();
    dropped = detector_.dropped_spans();
    evicted = detector_.evicted_findings();
    kept = detector_.kept_findings();
  }
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  m->SetGauge("backsight_trace_findings_open_traces",
              "Traces grouped for findings, not analysed yet.", d(open));
  m->SetCounter("backsight_trace_findings_traces_total", "Traces analysed for findings.",
                d(finalised));
  m->SetCounter("backsight_trace_findings_traces_early_total",
                "Traces analysed before their quiet period because traces.max_open_traces were "
                "open.",
                d(early));
  m->SetCounter("backsight_trace_findings_spans_dropped_total",
                "Spans not analysed because their trace already held " +
                    std::to_string(traces::FindingsDetector::kMaxSpansPerTrace) + " spans.",
                d(dropped));
  m->SetGauge("backsight_trace_findings", "Trace findings kept (one per kind, service, operation).",
              d(kept));
  m->SetCounter("backsight_trace_findings_evicted_total",
                "Trace findings forgotten to keep traces.max_findings.", d(evicted));
  m->SetCounter("backsight_trace_retry_ratio_samples_dropped_total",
                "Retry ratio samples not submitted (engine queues full).",
                d(ratio_samples_dropped_.load()));
  m->SetCounter("backsight_trace_finding_alert_posts_total",
                "Alertmanager POSTs of trace finding alerts.", d(alert_posts_.load()));
  m->SetCounter("backsight_trace_finding_alert_post_errors_total",
                "Failed Alertmanager POSTs of trace finding alerts (sent again when the finding "
                "is seen again a resend interval later).",
                d(alert_errors_.load()));
}

}  // namespace backsight::server
