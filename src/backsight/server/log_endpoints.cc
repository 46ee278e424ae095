#include "backsight/server/log_endpoints.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unordered_map>

#include "backsight/core/byte_io.h"
#include "backsight/core/file_util.h"
#include "backsight/core/labels.h"
#include "backsight/core/time.h"
#include "backsight/ingest/log_batch.h"
#include "backsight/ingest/loki_push.h"
#include "backsight/ingest/otlp_logs.h"
#include "backsight/security/findings_format.h"
#include "backsight/server/alerts.h"
#include "backsight/server/http_status.h"
#include "backsight/server/query_params.h"

namespace backsight::server {

namespace {

// <state_dir>/logs.state header (docs/formats.md): "BSLC" little-endian, version 2, then the
// first write-ahead log segment not covered by the state, the tailed files' positions (count,
// then path + logs::EncodeTailPosition each; not in version 1, which is still read), then
// LogService::SaveState.
constexpr uint32_t kCheckpointMagic = 0x434C5342;
constexpr uint32_t kCheckpointVersion = 2;
constexpr uint32_t kCheckpointVersionNoTails = 1;
// How often the tailed files are polled (ms): a line is mined at most this long after it is
// written (Promtail's default sync period is 10 s; 250 ms keeps the latency well under a bucket).
constexpr int kTailPollMs = 250;
constexpr const char* kStateFile = "logs.state";
constexpr const char* kWalDir = "logs-wal";
// The security findings' bookkeeping (security/finding_ledger.h, docs/formats.md).
constexpr const char* kSecurityStateFile = "security.state";
// Alerts waiting for the sender; past this new ones are dropped and counted.
constexpr size_t kMaxQueuedAlerts = 10'000;
// Alerts per POST, and how often the sender wakes up (ms).
constexpr size_t kAlertsPerPost = 100;
constexpr int kAlertTickMs = 200;
// A log alert stays active this many resend intervals (Prometheus sends endsAt = 4 x resend).
constexpr int64_t kAlertLifetimeResends = 4;
// How often logs.security judges its clients for alerts and the deny list (a judgement walks
// every client with a signal: seconds apart, not per line).
constexpr int kSecurityJudgeMs = 5000;
// Query limits of the JSON API.
constexpr size_t kDefaultLimit = 100;
constexpr unsigned long long kMaxLimit = 10'000;
constexpr const char* kTemplateSeriesName = "backsight_log_template_count";
// Exact-line cache entries per service's miner (16 bytes each, so at most 1 MiB per service;
// `backsight logs` uses the miner's default of 2^20 for one stream). Loghub's 11 datasets
// repeated (24k distinct lines) fit; a miss only costs the tree walk.
constexpr uint32_t kServiceMinerCacheEntries = 1u << 16;
// OTLP/HTTP error body's code for a bad request (google.rpc.Code INVALID_ARGUMENT).
constexpr int kGrpcInvalidArgument = 3;

std::string JsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// ?limit= (1..kMaxLimit, default kDefaultLimit); false (400 answered) on a bad value.
bool Limit(const HttpRequest& req, size_t* limit, HttpResponse* res) {
  *limit = kDefaultLimit;
  return LimitParam(req, kMaxLimit, limit, res);
}

Labels EventLabels(const logs::LogAnomalyEvent& e) {
  Labels l = {{"__name__", "backsight_log_anomaly"},
              {"kind", e.kind},
              {"service", e.service},
              {"template_id", std::to_string(e.template_id)}};
  SortLabels(&l);
  return l;
}

nlohmann::json EventJson(const logs::LogAnomalyEvent& e) {
  return {{"id", e.id},
          {"kind", e.kind},
          {"service", e.service},
          {"template_id", e.template_id},
          {"template", e.template_text},
          {"score", std::isfinite(e.score) ? nlohmann::json(e.score) : nlohmann::json(nullptr)},
          {"start", FormatRfc3339(e.first_ts)},
          {"end", FormatRfc3339(e.last_ts)},
          {"lines", e.lines},
          {"examples", e.examples}};
}

Status DecodeBody(LogEndpoints::Format f, std::string_view body, size_t max,
                  ingest::LogBatch* out) {
  switch (f) {
    case LogEndpoints::Format::kLokiProto:
      return ingest::DecodeLokiPushProto(body, out, max);
    case LogEndpoints::Format::kLokiJson:
      return ingest::DecodeLokiPushJson(body, out, max);
    case LogEndpoints::Format::kOtlpProto:
      return ingest::DecodeOtlpLogsProto(body, out, max);
    case LogEndpoints::Format::kOtlpJson:
      return ingest::DecodeOtlpLogsJson(body, out, max);
  }
  return Status::InvalidArgument(Reason::kMalformed, "unknown log body format");
}

}  // namespace

LogEndpoints::LogEndpoints(const ServeConfig& config, const std::unique_ptr<Engine>& engine,
                           SelfMetrics* metrics)
    : cfg_(config),
      engine_(engine),
      service_([&config] {
        logs::LogServiceOptions o;
        o.max_services = config.logs_max_services;
        o.max_events = config.logs_max_events;
        o.pipeline.miner.max_templates = static_cast<uint32_t>(config.logs_max_templates);
        o.pipeline.miner.max_cache_entries = kServiceMinerCacheEntries;
        o.pipeline.anomaly.bucket_ns = config.logs_bucket_ms * 1'000'000;
        o.pipeline.multiline = logs::MultilineMode::kNone;
        for (const LogFile& f : config.log_files) {
          logs::LogPipelineOptions p = o.pipeline;
          // Validated by LoadConfigText; a bad spec here leaves the raw layout.
          (void)logs::ParseHeaderSpec(f.header, &p.layout);
          p.multiline =
              f.multiline == "none" ? logs::MultilineMode::kNone : logs::MultilineMode::kIndent;
          o.service_pipelines[f.service] = p;
        }
        return o;
      }()),
      metrics_(metrics) {
  for (const LogFile& f : config.log_files) {
    tails_.push_back({f.service, std::make_unique<logs::FileTailer>(f.path)});
  }
}

LogEndpoints::~LogEndpoints() { Stop(); }

void LogEndpoints::Count(const char* endpoint, int code, const Status& st) {
  metrics_->CountRequest(endpoint, code);
  if (code == 400 || code == 413 || code == 415) {
    metrics_->CountDecodeError(endpoint, ReasonName(st.reason()));
  }
}

Status LogEndpoints::Ingest(Format format, std::string_view body, bool replay) {
  thread_local ingest::LogBatch batch;  // keeps its capacity across requests
  thread_local std::vector<std::vector<logs::LogEntry>> groups;
  thread_local std::vector<std::string_view> names;
  // Service name -> index in `names`: a hashed lookup, as one body may carry 100,000s of streams
  // (a linear search took 4.7 s for a 4 MB body of 60,000 services).
  thread_local std::unordered_map<std::string_view, size_t> index;
  BACKSIGHT_RETURN_IF_ERROR(DecodeBody(format, body, cfg_.max_decompressed_bytes, &batch));
  if (security_) {
    for (const ingest::LogStream& s : batch.streams) {
      for (const ingest::LogLine& l : s.entries) FeedSecurity(l.line, s.service);
    }
  }
  names.clear();
  index.clear();
  for (auto& g : groups) g.clear();
  // Streams of one service are mined together, in time order (Loki splits a service's lines
  // into streams by level, for instance).
  for (const ingest::LogStream& s : batch.streams) {
    const auto [it, added] = index.try_emplace(s.service, names.size());
    if (added) {
      names.push_back(s.service);
      if (groups.size() < names.size()) groups.emplace_back();
    }
    for (const ingest::LogLine& l : s.entries)
      groups[it->second].push_back({l.ts, l.line, l.level});
  }
  std::vector<logs::LogService::ServiceEntries> items;
  for (size_t i = 0; i < names.size(); ++i) {
    auto& g = groups[i];
    auto by_ts = [](const logs::LogEntry& a, const logs::LogEntry& b) { return a.ts < b.ts; };
    if (!std::is_sorted(g.begin(), g.end(), by_ts)) std::stable_sort(g.begin(), g.end(), by_ts);
    items.push_back({names[i], g});
  }
  logs::LogAddResult result;
  Status st;
  {
    std::shared_lock lock(checkpoint_mu_);
    auto log_first = [&]() -> Status {
      if (!wal_ || replay) return Status::OK();
      std::string payload;
      payload.reserve(body.size() + 1);
      payload.push_back(static_cast<char>(format));
      payload.append(body);
      return wal_->Append(payload);
    };
    st = service_.AddBatch(items, log_first, &result);
  }
  if (st.code() == Status::Code::kIoError) return st;
  Deliver(&result, replay);
  return st;
}

int64_t LogEndpoints::SecurityClock() const {
  return std::min<int64_t>(security_->last_time(), std::time(nullptr));
}

void LogEndpoints::NoteClientService(std::string_view client, const std::string& service) {
  if (!security_forward_ || client.empty()) return;
  client_service_.Put(client, service);
}

void LogEndpoints::FeedSecurity(std::string_view line, const std::string& service) {
  // The year of RFC 3164 sshd times: this year (lines arrive live).
  static const int kYear = [] {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    return tm.tm_year + 1900;
  }();
  std::lock_guard lock(security_mu_);
  if (security::LooksLikeSshdLine(line)) {
    security::AuthEvent e;
    bool found = false;
    if (security::ParseAuthLine(line, kYear, &e, &found).ok() && found) {
      security_->AddAuth(e, line);
      NoteClientService(e.client, service);
    }
  } else if (access_parser_.Parse(line, &access_record_).ok()) {
    security_->AddRequest(access_record_, line);
    NoteClientService(access_record_.client, service);
  }  // other lines are not requests: nothing to judge
}

void LogEndpoints::SecurityLoop() {
  for (;;) {
    {
      std::unique_lock lock(alert_mu_);
      security_cv_.wait_for(lock, std::chrono::milliseconds(kSecurityJudgeMs),
                            [this] { return security_stop_; });
      if (security_stop_) return;
    }
    std::vector<security::Finding> findings;
    std::vector<security::Finding> forward;  // new (address, kind) findings to forward ...
    std::vector<std::string> services;       // ... and their services, in order
    std::vector<security::Finding> alert;    // new (address, kind) findings to alert
    {
      std::lock_guard lock(security_mu_);
      findings = ledger_.Merge(security_->Judge(), SecurityClock());
      for (const security::Finding& f : findings) {
        if (security_forward_ && ledger_.MarkForwarded(f)) {
          const std::string* service = client_service_.Find(f.source_ip);
          forward.push_back(f);
          services.push_back(service == nullptr ? "" : *service);
        }
        if (!cfg_.alertmanager_url.empty() && ledger_.MarkSent(f)) alert.push_back(f);
      }
    }
    for (size_t i = 0; i < forward.size(); ++i) security_forward_(forward[i], services[i]);
    if (!cfg_.logs_security_deny_list.empty()) {
      std::set<std::string> ips;
      for (const security::Finding& f : findings) ips.insert(f.source_ip);
      std::string text;
      for (const std::string& ip : ips) text += ip + "\n";
      if (Status st = WriteFileAtomically(cfg_.logs_security_deny_list, text); !st.ok()) {
        std::fprintf(stderr, "backsight: security deny list: %s\n", st.ToString().c_str());
      }
    }
    nlohmann::json arr = nlohmann::json::array();
    const int64_t now = WallNowNs();
    for (const security::Finding& f : alert) {
      const std::string kind = security::KindName(f.kind);
      char score[32];
      std::snprintf(score, sizeof score, "%.3g", f.score);
      arr.push_back({{"labels",
                      {{"alertname", "BacksightSecurityFinding"},
                       {"source_ip", f.source_ip},
                       {"kind", kind}}},
                     {"annotations",
                      {{"summary", kind + " from " + f.source_ip},
                       {"evidence", f.evidence},
                       {"score", score}}},
                     {"startsAt", FormatRfc3339(now)},
                     {"endsAt", FormatRfc3339(now + kAlertLifetimeResends * cfg_.alert_resend_ms *
                                                        1'000'000)},
                     {"generatorURL", cfg_.external_url + "/api/v1/security/findings"}});
    }
    if (!arr.empty()) {
      ++alert_posts_;
      // Sent once, as log alerts.
      if (!PostAlertmanagerAlerts(cfg_.alertmanager_url, JsonText(arr))) ++alert_errors_;
    }
    // Saved right after sending, not only at the next checkpoint: a restart in between would
    // otherwise send these again.
    if (Status st = SaveSecurityState(false); !st.ok()) {
      std::fprintf(stderr, "backsight: security state: %s\n", st.ToString().c_str());
    }
  }
}

Status LogEndpoints::SaveSecurityState(bool always) {
  if (!security_ || cfg_.state_dir.empty()) return Status::OK();
  std::lock_guard save_lock(security_save_mu_);
  std::string data;
  {
    std::lock_guard lock(security_mu_);
    if (!always && !ledger_.changed()) return Status::OK();
    ledger_.Encode(&data);
  }
  return WriteFileAtomically(cfg_.state_dir + "/" + kSecurityStateFile, data);
}

void LogEndpoints::Deliver(logs::LogAddResult* result, bool replay) {
  if (cfg_.logs_template_series && !result->counts.empty() && engine_) {
    std::vector<TimeSeries> series;
    series.reserve(result->counts.size());
    for (const logs::TemplateCount& c : result->counts) {
      TimeSeries ts;
      ts.labels = {{"__name__", kTemplateSeriesName},
                   {"service", c.service},
                   {"template_id", std::to_string(c.template_id)}};
      ts.kind = MetricKind::kGauge;
      ts.samples.push_back({c.bucket_start_ns, static_cast<double>(c.count)});
      series.push_back(std::move(ts));
    }
    const size_t n = series.size();
    if (engine_->Submit(std::move(series)).ok()) {
      series_submitted_ += n;
    } else {
      series_dropped_ += n;  // queues full: these bucket counts are lost, the lines are not
    }
  }
  if (!replay && event_forward_) {
    for (const auto& e : result->opened) event_forward_(e);
  }
  if (!replay && ItemAlertsOn(cfg_) && !result->opened.empty()) {
    const int64_t now = WallNowNs();
    std::lock_guard lock(alert_mu_);
    for (auto& e : result->opened) {
      if (alerts_.size() >= kMaxQueuedAlerts) {
        ++alerts_dropped_;
        continue;
      }
      alerts_.push_back({std::move(e), now});
    }
    alert_cv_.notify_one();
  }
}

void LogEndpoints::HandlePush(const char* endpoint, Format proto, Format json,
                              const HttpRequest& req, HttpResponse* res) {
  bool is_json = false;
  const bool otlp = proto == Format::kOtlpProto;
  if (const Status bad = ProtobufOrJsonBody(req, &is_json); !bad.ok()) {
    SetTextErrorResponse(bad, res);
    Count(endpoint, res->status, bad);
    return;
  }
  Status st = Ingest(is_json ? json : proto, req.body, false);
  if (!st.ok()) {
    if (otlp && is_json) {
      SetErrorResponse(st, JsonText({{"code", kGrpcInvalidArgument}, {"message", st.message()}}),
                       "application/json", res);
    } else {
      SetTextErrorResponse(st, res);
    }
  } else if (otlp) {
    res->status = 200;
    if (is_json)
      res->SetContent("{}", "application/json");
    else
      res->SetContent("", "application/x-protobuf");
  } else {
    res->status = 204;  // as Loki's distributor answers
  }
  Count(endpoint, res->status, st);
}

void LogEndpoints::Register(HttpServer* http) {
  if (!cfg_.logs_enabled) return;
  RouteOptions push;
  push.inflate_encodings = {"gzip", "deflate"};
  push.passthrough_encodings = {"snappy"};  // the protobuf body's own framing
  http->Route(
      "POST", "/loki/api/v1/push",
      [this](const HttpRequest& req, HttpResponse* res) {
        HandlePush("loki", Format::kLokiProto, Format::kLokiJson, req, res);
      },
      push);
  RouteOptions inflate;
  inflate.inflate_encodings = {"gzip", "deflate"};
  http->Route(
      "POST", "/v1/logs",
      [this](const HttpRequest& req, HttpResponse* res) {
        HandlePush("otlp_logs", Format::kOtlpProto, Format::kOtlpJson, req, res);
      },
      inflate);
  http->Route("GET", "/api/v1/security/findings", [this](const HttpRequest&, HttpResponse* res) {
    if (!security_) {
      res->status = 404;
      res->SetContent("404: logs.security is off\n", "text/plain");
      return;
    }
    std::vector<security::Finding> findings;
    {
      std::lock_guard lock(security_mu_);
      findings = ledger_.Merge(security_->Judge(), SecurityClock());
    }
    std::string body = security::FormatFindings(findings, security::FindingsFormat::kJson);
    if (body.empty()) body = "[]\n";
    res->status = 200;
    res->SetContent(body, "application/json");
  });
  http->Route("GET", "/api/v1/log/templates", [this](const HttpRequest& req, HttpResponse* res) {
    size_t limit;
    if (!Limit(req, &limit, res)) return;
    if (!req.has_param("service")) {
      nlohmann::json arr = nlohmann::json::array();
      for (const std::string& s : service_.Services()) arr.push_back(s);
      res->SetContent(JsonText({{"services", arr}}), "application/json");
      return;
    }
    std::vector<logs::LogTemplateInfo> templates;
    Status st = service_.Templates(req.param("service"), limit, &templates);
    if (!st.ok()) {
      SetErrorResponse(st, JsonText({{"error", st.message()}}), "application/json", res);
      return;
    }
    uint64_t bytes = 0, n = 0;
    service_.MemoryEstimate(&bytes, &n);
    memory_bytes_ = bytes;
    memory_templates_ = n;
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : templates) {
      arr.push_back({{"id", t.id},
                     {"template", t.text},
                     {"count", t.count},
                     {"first_seen", FormatRfc3339(t.first_seen_ns)},
                     {"last_seen", FormatRfc3339(t.last_seen_ns)},
                     {"example", t.example}});
    }
    nlohmann::json mem = {{"templates", n}, {"bytes", bytes}};
    mem["bytes_per_template"] = n ? static_cast<double>(bytes) / n : 0.0;
    res->SetContent(
        JsonText(
            {{"service", req.param("service")}, {"templates", arr}, {"memory_all_services", mem}}),
        "application/json");
  });
  http->Route("GET", "/api/v1/log/anomalies", [this](const HttpRequest& req, HttpResponse* res) {
    size_t limit;
    if (!Limit(req, &limit, res)) return;
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : service_.RecentEvents(limit)) arr.push_back(EventJson(e));
    res->SetContent(JsonText({{"events", arr}}), "application/json");
  });
}

Status LogEndpoints::Open() {
  if (!cfg_.logs_enabled) return Status::OK();
  if (cfg_.logs_security && !security_) {
    BACKSIGHT_RETURN_IF_ERROR(security::RequestInspector::Create({}, &inspector_));
    security_ =
        std::make_unique<security::SecurityAnalyzer>(security::AnalyzerOptions(), inspector_.get());
    ledger_.set_retention(cfg_.logs_security_retention_ms / 1000);
  }
  if (security_ && !cfg_.state_dir.empty()) {
    const std::string path = cfg_.state_dir + "/" + kSecurityStateFile;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      std::string data;
      BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &data));
      if (Status st = ledger_.Decode(data); !st.ok()) {
        return Status::Corruption(path + ": " + st.message() + " (move it aside to start afresh)");
      }
    }
  }
  if (!cfg_.state_dir.empty()) {
    const std::string path = cfg_.state_dir + "/" + kStateFile;
    uint64_t segment = 0;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      std::string data;
      BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &data));
      ByteReader r(data);
      Status st = r.GetStateHeader(kCheckpointMagic, kCheckpointVersion, "log state");
      bool have_tails = true;
      if (!st.ok()) {  // a state written before tailed files (version 1)?
        ByteReader r1(data);
        if (r1.GetStateHeader(kCheckpointMagic, kCheckpointVersionNoTails, "log state").ok()) {
          r = r1;
          st = Status::OK();
          have_tails = false;
        }
      }
      if (st.ok()) st = r.GetU64(&segment, "wal segment");
      std::vector<logs::NamedTailPosition> positions;
      if (st.ok() && have_tails) st = logs::DecodeTailPositions(&r, &positions);
      for (const logs::NamedTailPosition& p : positions) {
        for (Tail& t : tails_) {
          if (t.tailer->path() == p.path) t.tailer->Restore(p.position);
        }
      }
      if (st.ok()) st = service_.RestoreState(std::string_view(data).substr(r.position()));
      if (!st.ok()) {
        return Status::Corruption(path + ": " + st.message() + " (move it and " + kWalDir +
                                  " aside to start afresh)");
      }
    }
    if (cfg_.wal_enabled) {
      store::WalOptions wo;
      wo.fsync = cfg_.wal_fsync;
      BACKSIGHT_RETURN_IF_ERROR(store::Wal::Open(cfg_.state_dir + "/" + kWalDir, wo, &wal_));
      BACKSIGHT_RETURN_IF_ERROR(wal_->RemoveBefore(segment));  // already in the state
      store::WalReplayStats stats;
      BACKSIGHT_RETURN_IF_ERROR(wal_->Replay(
          wal_->first_segment(),
          [this](std::string_view payload) {
            ++replayed_records_;
            Status st = payload.empty() || static_cast<uint8_t>(payload[0]) > 3
                            ? Status::Corruption("unknown record format")
                            : Ingest(static_cast<Format>(payload[0]), payload.substr(1), true);
            if (!st.ok() && st.code() != Status::Code::kResourceExhausted) {
              ++replay_errors_;
              std::fprintf(stderr, "backsight: logs write-ahead log record skipped: %s\n",
                           st.ToString().c_str());
            }
            return Status::OK();
          },
          [this](const store::WalCorruption& c) {
            ++replay_errors_;
            std::fprintf(stderr,
                         "backsight: logs write-ahead log segment %" PRIu64 " byte %" PRIu64
                         ": %s (%" PRIu64 " bytes lost)\n",
                         c.segment, c.offset, c.reason.c_str(), c.bytes_lost);
          },
          &stats));
    }
  }
  alert_stop_ = false;
  if (ItemAlertsOn(cfg_)) alert_thread_ = std::thread([this] { AlertLoop(); });
  tail_stop_ = false;
  if (!tails_.empty()) tail_thread_ = std::thread([this] { TailLoop(); });
  if (security_) security_thread_ = std::thread([this] { SecurityLoop(); });
  return Status::OK();
}

Status LogEndpoints::Checkpoint() {
  if (!cfg_.logs_enabled || cfg_.state_dir.empty()) return Status::OK();
  std::string data;
  uint64_t segment = 0;
  {
    std::unique_lock lock(checkpoint_mu_);  // no request between the rotation and the save
    if (wal_) BACKSIGHT_RETURN_IF_ERROR(wal_->Rotate(&segment));
    ByteWriter w(&data);
    w.PutU32(kCheckpointMagic);
    w.PutU32(kCheckpointVersion);
    w.PutU64(segment);
    std::vector<logs::NamedTailPosition> positions;
    for (const Tail& t : tails_) {  // in step with the services: TailLoop polls under the lock
      positions.push_back({t.tailer->path(), t.tailer->position()});
    }
    logs::EncodeTailPositions(positions, &w);
    service_.SaveState(&data);
  }
  BACKSIGHT_RETURN_IF_ERROR(WriteFileAtomically(cfg_.state_dir + "/" + kStateFile, data));
  if (wal_) BACKSIGHT_RETURN_IF_ERROR(wal_->RemoveBefore(segment));
  // Once the log is truncated the analyzer cannot re-judge the findings it held: keep them.
  BACKSIGHT_RETURN_IF_ERROR(SaveSecurityState(true));
  uint64_t bytes = 0, n = 0;
  service_.MemoryEstimate(&bytes, &n);
  memory_bytes_ = bytes;
  memory_templates_ = n;
  return Status::OK();
}

void LogEndpoints::MergeAnomalies(size_t limit, nlohmann::json* events) {
  if (!cfg_.logs_enabled) return;
  for (const auto& e : service_.RecentEvents(limit)) {
    const Labels labels = EventLabels(e);
    const std::string fp = FormatFingerprint(Fingerprint(labels));
    nlohmann::json j = {
        {"series", nlohmann::json::object()},
        {"fingerprint", fp},
        {"start", FormatRfc3339(e.first_ts)},
        {"end", FormatRfc3339(e.last_ts)},
        {"peak_score", std::isfinite(e.score) ? nlohmann::json(e.score) : nlohmann::json(nullptr)},
        {"kind", "log"},
        {"template", e.template_text},
        {"examples", e.examples}};
    for (const auto& l : labels) j["series"][l.name] = l.value;
    events->push_back(std::move(j));
  }
  auto start_of = [](const nlohmann::json& j) {
    TimestampNs ts = 0;
    if (j.contains("start") && j["start"].is_string()) {
      (void)TryParseTimestamp(j["start"].get<std::string>(), &ts);
    }
    return ts;
  };
  std::stable_sort(
      events->begin(), events->end(),
      [&](const nlohmann::json& a, const nlohmann::json& b) { return start_of(a) > start_of(b); });
  while (events->size() > limit) events->erase(events->end() - 1);
}

void LogEndpoints::AlertLoop() {
  std::unique_lock lock(alert_mu_);
  while (!alert_stop_) {
    alert_cv_.wait_for(lock, std::chrono::milliseconds(kAlertTickMs));
    if (alerts_.empty()) continue;
    std::vector<Alert> batch;
    while (!alerts_.empty() && batch.size() < kAlertsPerPost) {
      batch.push_back(std::move(alerts_.front()));
      alerts_.pop_front();
    }
    lock.unlock();
    nlohmann::json arr = nlohmann::json::array();
    for (const Alert& a : batch) {
      const auto& e = a.event;
      char score[32];
      std::snprintf(score, sizeof score, "%.3g", e.score);
      const std::string example = e.examples.empty() ? "" : e.examples[0];
      arr.push_back(
          {{"labels",
            {{"alertname", "BacksightLogAnomaly"},
             {"service", e.service},
             {"kind", e.kind},
             {"template_id", std::to_string(e.template_id)}}},
           {"annotations",
            {{"summary", "log anomaly (" + e.kind + ") in " + e.service + ": " + e.template_text},
             {"template", e.template_text},
             {"example", example},
             {"score", score}}},
           {"startsAt", FormatRfc3339(a.wall_ns)},
           {"endsAt",
            FormatRfc3339(a.wall_ns + kAlertLifetimeResends * cfg_.alert_resend_ms * 1'000'000)},
           {"generatorURL", cfg_.external_url + "/api/v1/log/anomalies"}});
    }
    ++alert_posts_;
    // Log alerts are sent once.
    if (!PostAlertmanagerAlerts(cfg_.alertmanager_url, JsonText(arr))) ++alert_errors_;
    lock.lock();
  }
}

void LogEndpoints::TailLoop() {
  logs::LogAddResult result;
  for (;;) {
    bool more = false;
    for (Tail& t : tails_) {
      result = {};
      bool again = false;
      Status st;
      {
        std::shared_lock lock(checkpoint_mu_);
        st = t.tailer->Poll(
            [&](std::span<const std::string_view> lines) {
              if (security_) {
                for (std::string_view l : lines) FeedSecurity(l, t.service);
              }
              Status add = service_.AddLines(t.service, lines, WallNowNs(), &result);
              (void)add;  // refused past logs.max_services: counted by the service
            },
            &again);
      }
      if (!st.ok()) {
        ++file_read_errors_;
        std::fprintf(stderr, "backsight: log file %s\n", st.ToString().c_str());
      }
      more = more || again;
      Deliver(&result, false);
    }
    uint64_t lines = 0, rotations = 0, truncations = 0, long_lines = 0, resumed = 0;
    for (const Tail& t : tails_) {
      const logs::FileTailerStats& fs = t.tailer->stats();
      lines += fs.lines;
      rotations += fs.rotations;
      truncations += fs.truncations;
      long_lines += fs.long_lines;
      resumed += fs.resumed;
    }
    file_lines_ = lines;
    file_rotations_ = rotations;
    file_truncations_ = truncations;
    file_long_lines_ = long_lines;
    file_resumed_ = resumed;
    std::unique_lock lock(tail_mu_);
    if (!more) tail_cv_.wait_for(lock, std::chrono::milliseconds(kTailPollMs));
    if (tail_stop_) return;
  }
}

void LogEndpoints::Stop() {
  {
    std::lock_guard lock(alert_mu_);
    security_stop_ = true;
  }
  security_cv_.notify_all();
  if (security_thread_.joinable()) security_thread_.join();
  {
    std::lock_guard lock(tail_mu_);
    tail_stop_ = true;
  }
  tail_cv_.notify_all();
  if (tail_thread_.joinable()) tail_thread_.join();
  {
    std::lock_guard lock(alert_mu_);
    alert_stop_ = true;
  }
  alert_cv_.notify_all();
  if (alert_thread_.joinable()) alert_thread_.join();
}

void LogEndpoints::MirrorMetrics(SelfMetrics* m) {
  if (!cfg_.logs_enabled) return;
  const logs::LogServiceStats st = service_.stats();
  m->SetCounter("backsight_log_lines_total", "Log lines mined and scored.", st.lines);
  m->SetCounter("backsight_log_lines_anomalous_total", "Log lines with an anomaly score above 1.",
                st.anomalous);
  m->SetCounter("backsight_log_anomaly_events_total", "Log anomaly events opened.", st.events);
  m->SetGauge("backsight_log_services", "Services with a template set.", st.services);
  m->SetGauge("backsight_log_templates", "Live log templates over all services.", st.templates);
  m->SetCounter("backsight_log_services_refused_total",
                "Service batches refused past logs.max_services.", st.services_refused);
  m->SetCounter("backsight_log_lines_refused_total", "Log lines refused past logs.max_services.",
                st.lines_refused);
  m->SetCounter("backsight_log_template_samples_dropped_total",
                "Template count samples not submitted (engine queues full).",
                series_dropped_.load());
  m->SetGauge("backsight_log_template_memory_bytes",
              "Estimated bytes of mining and scoring state, all templates (at the last "
              "checkpoint or templates query).",
              memory_bytes_.load());
  const uint64_t n = memory_templates_.load();
  m->SetGauge("backsight_log_template_memory_bytes_per_template",
              "Estimated state bytes per template (same time).",
              n ? static_cast<double>(memory_bytes_.load()) / static_cast<double>(n) : 0.0);
  if (security_) {
    uint64_t dropped = 0, expired = 0;
    {
      std::lock_guard lock(security_mu_);
      dropped = ledger_.dropped();
      expired = ledger_.expired();
    }
    m->SetCounter("backsight_security_keys_dropped_total",
                  "Security findings' (address, kind) keys dropped from the kept, alerted or "
                  "forwarded bookkeeping past 65,536 each, oldest first (such a key may be "
                  "alerted again).",
                  dropped);
    m->SetCounter("backsight_security_findings_expired_total",
                  "Security findings dropped after logs.security_retention without new evidence "
                  "(off the API and deny list; the address alerts again if it comes back).",
                  expired);
  }
  m->SetCounter("backsight_log_alert_posts_total", "Alertmanager POSTs of log alerts.",
                alert_posts_.load());
  m->SetCounter("backsight_log_alert_post_errors_total",
                "Failed Alertmanager POSTs of log alerts (not retried).", alert_errors_.load());
  if (!tails_.empty()) {
    m->SetCounter("backsight_log_file_lines_total", "Lines read from tailed log files (log_files).",
                  file_lines_.load());
    m->SetCounter("backsight_log_file_rotations_total",
                  "Tailed log files found rotated (the path named a new file).",
                  file_rotations_.load());
    m->SetCounter("backsight_log_file_truncations_total",
                  "Tailed log files found shorter than the read offset (read again from 0).",
                  file_truncations_.load());
    m->SetCounter("backsight_log_file_long_lines_total", "Lines of tailed log files cut at 1 MiB.",
                  file_long_lines_.load());
    m->SetCounter("backsight_log_file_read_errors_total", "Failed reads of tailed log files.",
                  file_read_errors_.load());
    m->SetCounter("backsight_log_file_resumed_total",
                  "Tailed log files resumed at their saved position at start.",
                  file_resumed_.load());
  }
  m->SetCounter("backsight_log_wal_replayed_records_total",
                "Log write-ahead log records replayed at start.", replayed_records_.load());
  m->SetCounter("backsight_log_wal_replay_errors_total",
                "Log write-ahead log records skipped at start (damaged or undecodable).",
                replay_errors_.load());
}

}  // namespace backsight::server
