// `backsight serve` ingest endpoints: remote_write, OTLP/HTTP metrics and the scrape loop, each
// decoding into TimeSeries and submitting them to the engine.
#include <httplib.h>  // client of the scrape targets

#include <algorithm>
#include <nlohmann/json.hpp>

#include "backsight/ingest/exposition.h"
#include "backsight/ingest/otlp_metrics.h"
#include "backsight/ingest/remote_write.h"
#include "backsight/server/http_status.h"
#include "backsight/server/json_body.h"
#include "backsight/server/server.h"

namespace backsight::server {
namespace {

// google.rpc.Code INVALID_ARGUMENT: the code of the Status message an OTLP/HTTP JSON error carries.
constexpr int kGrpcInvalidArgument = 3;

}  // namespace

Status Server::SubmitSeries(std::vector<TimeSeries>& series) {
  thread_local std::vector<uint64_t> fps;  // computed by warm start, reused by the engine
  if (warm_) BACKSIGHT_RETURN_IF_ERROR(warm_->Intercept(&series, &fps));
  return engine_->SubmitView(series, warm_ ? &fps : nullptr);
}

void Server::HandleRemoteWrite(const HttpRequest& req, HttpResponse* res) {
  // Content-Encoding is "" or snappy here (others got 415 from the server); snappy is the
  // remote_write framing, undone by the decoder.
  // Reused per pool thread: the decoder keeps its strings' and vectors' capacity.
  thread_local std::vector<TimeSeries> series;
  Status st = ingest::DecodeRemoteWrite(req.body, &series, cfg_.max_decompressed_bytes);
  if (!st.ok()) {
    CountDecodeError("remote_write", ReasonName(st.reason()));
    SetErrorResponse(
        st, std::to_string(HttpStatusFor(st)) + " bad remote_write payload: " + st.message() + "\n",
        "text/plain", res);
    CountRequest("remote_write", res->status);
    return;
  }
  st = SubmitSeries(series);
  if (!st.ok()) {
    SetTextErrorResponse(st, res);
  } else {
    res->status = 204;
  }
  CountRequest("remote_write", res->status);
}

void Server::HandleOtlpMetrics(const HttpRequest& req, HttpResponse* res) {
  bool json = false;
  if (const Status bad = ProtobufOrJsonBody(req, &json); !bad.ok()) {
    CountDecodeError("otlp", ReasonName(bad.reason()));
    SetTextErrorResponse(bad, res);
    CountRequest("otlp", res->status);
    return;
  }
  std::vector<TimeSeries> series;
  Status st = json ? ingest::DecodeOtlpMetricsJson(req.body, &series, cfg_.max_decompressed_bytes)
                   : ingest::DecodeOtlpMetricsProto(req.body, &series, cfg_.max_decompressed_bytes);
  if (!st.ok()) {
    CountDecodeError("otlp", ReasonName(st.reason()));
    // OTLP/HTTP: a Status message is expected; plain text is accepted by clients as message.
    if (json) {
      SetErrorResponse(st, JsonDump({{"code", kGrpcInvalidArgument}, {"message", st.message()}}),
                       "application/json", res);
    } else {
      SetErrorResponse(
          st, std::to_string(HttpStatusFor(st)) + " bad OTLP payload: " + st.message() + "\n",
          "text/plain", res);
    }
    CountRequest("otlp", res->status);
    return;
  }
  st = SubmitSeries(series);
  if (!st.ok()) {
    SetTextErrorResponse(st, res);
  } else {
    res->status = 200;
    if (json)
      res->SetContent("{}", "application/json");
    else
      res->SetContent("", "application/x-protobuf");
  }
  CountRequest("otlp", res->status);
}

void Server::ScrapeLoop() {
  struct Target {
    const ScrapeJob* job;
    std::string target;
    int64_t interval_ms, timeout_ms;
    std::chrono::steady_clock::time_point due;
  };
  std::vector<Target> targets;
  auto now = std::chrono::steady_clock::now();
  for (const auto& job : cfg_.scrape_jobs) {
    int64_t iv = job.interval_ms > 0 ? job.interval_ms : cfg_.scrape_interval_ms;
    int64_t to = job.timeout_ms > 0 ? job.timeout_ms : std::min(iv, cfg_.scrape_timeout_ms);
    for (const auto& t : job.targets) targets.push_back({&job, t, iv, to, now});
  }
  std::vector<TimeSeries> series;
  for (;;) {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const auto& t : targets) next = std::min(next, t.due);
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      stop_cv_.wait_until(lock, next, [this] { return stopping_; });
      if (stopping_) return;
    }
    now = std::chrono::steady_clock::now();
    for (auto& t : targets) {
      if (t.due > now) continue;
      t.due += std::chrono::milliseconds(t.interval_ms);
      if (t.due < now) t.due = now + std::chrono::milliseconds(t.interval_ms);
      httplib::Client cli("http://" + t.target);
      cli.set_connection_timeout(std::chrono::milliseconds(t.timeout_ms));
      cli.set_read_timeout(std::chrono::milliseconds(t.timeout_ms));
      httplib::Headers headers = {{"Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1"}};
      const TimestampNs ts = WallNowNs();
      auto res = cli.Get(t.job->metrics_path, headers);
      bool ok = res && res->status == 200;
      if (ok) {
        Status st = ingest::ParseExposition(res->body, ts, &series);
        if (!st.ok()) {
          CountDecodeError("scrape", ReasonName(st.reason()));
          ok = false;
        }
      }
      if (ok) {
        for (auto& s : series) {
          bool has_job = false, has_instance = false;
          for (auto& l : s.labels) {
            if (l.name == "job") has_job = true;
            if (l.name == "instance") has_instance = true;
            if (!t.job->honor_labels && (l.name == "job" || l.name == "instance")) {
              l.name = "exported_" + l.name;
            }
          }
          if (t.job->honor_labels) {
            if (!has_job) s.labels.push_back({"job", t.job->job_name});
            if (!has_instance) s.labels.push_back({"instance", t.target});
          } else {
            s.labels.push_back({"job", t.job->job_name});
            s.labels.push_back({"instance", t.target});
          }
          SortLabels(&s.labels);
        }
        ok = SubmitSeries(series).ok();
        series.clear();
      }
      self_metrics_.CountScrape(t.job->job_name, t.target, ok);
    }
  }
}

}  // namespace backsight::server
