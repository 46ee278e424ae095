// `backsight serve` JSON API: recent anomalies, one series' state, the series list, checkpoint
// and status (see server.h for the routes and their parameters).
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "backsight/server/http_status.h"
#include "backsight/server/json_body.h"
#include "backsight/server/query_params.h"
#include "backsight/server/server.h"

namespace backsight::server {
namespace {

nlohmann::json JsonNum(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json LabelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& l : labels) j[l.name] = l.value;
  return j;
}

// Answers 400 with {"error": msg}.
void BadRequest(HttpResponse* res, const std::string& msg) {
  SetErrorResponse(Status::InvalidArgument(msg), JsonDump({{"error", msg}}), "application/json",
                   res);
}

// Reads ?fingerprint= (1-16 hex digits) into *fp. On a bad value answers 400 and returns false.
bool FingerprintParam(const HttpRequest& req, uint64_t* fp, HttpResponse* res) {
  const std::string v = req.param("fingerprint");
  char* end = nullptr;
  *fp = std::strtoull(v.c_str(), &end, 16);
  if (v.empty() || v.size() > 16 || *end != '\0') {
    BadRequest(res, "fingerprint must be 1-16 hex digits");
    return false;
  }
  return true;
}

}  // namespace

void Server::HandleAnomalies(const HttpRequest& req, HttpResponse* res) {
  size_t limit = 100;
  uint64_t fp = 0;
  if (!LimitParam(req, 10000, &limit, res)) return;
  if (req.has_param("fingerprint")) {
    if (!FingerprintParam(req, &fp, res)) return;
  }
  std::vector<store::AnomalyEvent> events;
  if (store_) {
    Status st = store_->RecentEvents(limit, fp, &events);
    if (!st.ok()) {
      SetErrorResponse(st, JsonDump({{"error", st.ToString()}}), "application/json", res);
      return;
    }
  } else {
    events = tracker_->Recent(limit, fp);
  }
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : events) {
    arr.push_back({{"series", LabelsJson(e.labels)},
                   {"fingerprint", FormatFingerprint(e.fp)},
                   {"start", FormatRfc3339(e.start_ns)},
                   {"end", e.end_ns ? nlohmann::json(FormatRfc3339(e.end_ns)) : nullptr},
                   {"peak_score", JsonNum(e.peak_score)}});
  }
  if (fp == 0) logs_->MergeAnomalies(limit, &arr);
  res->SetContent(JsonDump({{"events", arr}}), "application/json");
}

void Server::HandleSeriesState(const HttpRequest& req, HttpResponse* res) {
  uint64_t fp = 0;
  if (req.has_param("fingerprint")) {
    if (!FingerprintParam(req, &fp, res)) return;
  } else {
    Labels labels;
    for (const auto& [k, v] : req.params) labels.push_back({k, v});
    if (labels.empty()) {
      BadRequest(res,
                 "give ?fingerprint=HEX or the full label set as parameters, "
                 "e.g. ?__name__=up&job=node");
      return;
    }
    SortLabels(&labels);
    fp = Fingerprint(labels);
  }
  SeriesSnapshot s;
  if (!engine_->GetSeries(fp, &s)) {
    const Status missing =
        Status::NotFound("no active series with fingerprint " + FormatFingerprint(fp));
    SetErrorResponse(missing, JsonDump({{"error", missing.message()}}), "application/json", res);
    return;
  }
  nlohmann::json j = {
      {"series", LabelsJson(s.labels_copy)}, {"fingerprint", FormatFingerprint(s.fp)},
      {"counter_as_rate", s.is_counter},     {"samples_accepted", s.accepted},
      {"samples_rejected", s.rejected},      {"has_result", s.has_result},
      {"in_anomaly", s.in_episode},          {"warmup_samples_remaining", s.warmup_remaining}};
  if (s.has_result) {
    j["last_timestamp"] = FormatRfc3339(s.last_ts);
    j["last_timestamp_ns"] = s.last_ts;
    j["value"] = JsonNum(s.last_value);
    j["anomaly_score"] = JsonNum(s.result.anomaly_score);
    j["yhat"] = JsonNum(s.result.yhat);
    j["yhat_lower"] = JsonNum(s.result.yhat_lower);
    j["yhat_upper"] = JsonNum(s.result.yhat_upper);
    j["is_anomaly"] = s.result.is_anomaly;
    j["warming_up"] = s.result.warming_up;
  }
  if (s.in_episode) {
    j["anomaly_start"] = FormatRfc3339(s.episode_start_ts);
    j["anomaly_peak_score"] = JsonNum(s.episode_peak);
  }
  res->SetContent(JsonDump(j), "application/json");
}

void Server::HandleSeriesList(const HttpRequest& req, HttpResponse* res) {
  const std::string metric = req.param("metric");
  size_t limit = 1000;
  if (!LimitParam(req, 100000, &limit, res)) return;
  nlohmann::json arr = nlohmann::json::array();
  uint64_t matched = 0;
  engine_->ForEachSeries([&](const SeriesSnapshot& s) {
    if (!metric.empty() && GetLabel(*s.labels, "__name__") != metric) return;
    ++matched;
    if (arr.size() < limit) {
      arr.push_back({{"series", LabelsJson(*s.labels)}, {"fingerprint", FormatFingerprint(s.fp)}});
    }
  });
  res->SetContent(JsonDump({{"series", arr}, {"matched", matched}}), "application/json");
}

void Server::HandleCheckpoint(const HttpRequest& /*req*/, HttpResponse* res) {
  Status st = CheckpointNow();
  if (!st.ok()) {
    SetErrorResponse(st, JsonDump({{"error", st.ToString()}}), "application/json", res);
    return;
  }
  res->SetContent(JsonDump({{"status", "ok"}}), "application/json");
}

void Server::HandleStatus(const HttpRequest& /*req*/, HttpResponse* res) {
  res->SetContent(JsonDump(StatusJson()), "application/json");
}

}  // namespace backsight::server
