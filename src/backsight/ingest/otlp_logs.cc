#include "backsight/ingest/otlp_logs.h"

#include <google/protobuf/arena.h>

#include <climits>
#include <string>

#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/otlp_common.h"
#include "backsight/ingest/proto/logs.pb.h"
#include "backsight/ingest/reused_arena.h"

namespace backsight::ingest {

namespace {

namespace lv1 = opentelemetry::proto::logs::v1;
namespace cv1 = opentelemetry::proto::common::v1;
using internal::Bracket;

// SeverityNumber ranges of the OpenTelemetry logs data model ("Field: SeverityNumber"):
// 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
constexpr const char* kSeverityNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
constexpr int kSeverityMax = 24;

const char* SeverityName(int n) {
  if (n < 1 || n > kSeverityMax) return "";
  return kSeverityNames[(n - 1) / 4];
}

class Converter {
 public:
  Converter(bool json, LogBatch* out) : json_(json), out_(out) {}

  Status Run(lv1::ExportLogsServiceRequest* req) {
    for (int i = 0; i < req->resource_logs_size(); ++i) {
      auto* rl = req->mutable_resource_logs(i);
      std::string rpath = F("resource_logs", "resourceLogs") + Bracket(i);
      LogStream& s = out_->streams.emplace_back();
      BACKSIGHT_RETURN_IF_ERROR(Resource(rl->resource(), rpath, &s));
      for (int j = 0; j < rl->scope_logs_size(); ++j) {
        auto* sl = rl->mutable_scope_logs(j);
        std::string spath = rpath + "." + F("scope_logs", "scopeLogs") + Bracket(j);
        for (int k = 0; k < sl->log_records_size(); ++k) {
          BACKSIGHT_RETURN_IF_ERROR(
              Record(sl->mutable_log_records(k),
                     spath + "." + F("log_records", "logRecords") + Bracket(k), &s));
        }
      }
    }
    return Status::OK();
  }

 private:
  std::string F(const char* snake, const char* camel) const { return json_ ? camel : snake; }
  static Status Err(const std::string& path, const std::string& why, Reason r) {
    return Status::InvalidArgument(r, "otlp logs: " + path + ": " + why);
  }
  static Status Utf8(std::string_view s, const std::string& path) {
    return internal::CheckUtf8(s, "otlp logs", path);
  }

  Status Resource(const opentelemetry::proto::resource::v1::Resource& r, const std::string& rpath,
                  LogStream* s) {
    std::string service, ns, text;
    for (int i = 0; i < r.attributes_size(); ++i) {
      const auto& kv = r.attributes(i);
      text.clear();
      internal::AnyToString(kv.value(), false, 0, &text);
      const std::string path = rpath + ".resource.attributes" + Bracket(i);
      BACKSIGHT_RETURN_IF_ERROR(Utf8(text, path));
      BACKSIGHT_RETURN_IF_ERROR(Utf8(kv.key(), path));
      if (kv.key() == "service.name") service = text;
      if (kv.key() == "service.namespace") ns = text;
      std::string name = internal::SanitizeLabelName(kv.key());
      if (name.empty() || text.empty()) continue;
      s->labels.push_back({std::move(name), text});
    }
    SortLabels(&s->labels);
    // Keys that sanitise to the same name: keep the first (labels must be unique).
    size_t w = 0;
    for (size_t k = 0; k < s->labels.size(); ++k) {
      if (w > 0 && s->labels[w - 1].name == s->labels[k].name) continue;
      if (w != k) s->labels[w] = std::move(s->labels[k]);
      ++w;
    }
    s->labels.resize(w);
    if (service.empty()) {
      s->service = std::string(kUnknownService);
    } else {
      s->service = ns.empty() ? service : ns + "/" + service;
    }
    return Status::OK();
  }

  Status Record(lv1::LogRecord* r, const std::string& path, LogStream* s) {
    if (!r->has_body() || r->body().value_case() == cv1::AnyValue::VALUE_NOT_SET) {
      return Status::OK();
    }
    LogLine line;
    uint64_t t = r->time_unix_nano();
    const char* tfield = json_ ? "timeUnixNano" : "time_unix_nano";
    if (t == 0) {
      t = r->observed_time_unix_nano();
      tfield = json_ ? "observedTimeUnixNano" : "observed_time_unix_nano";
    }
    if (t == 0) {
      return Err(path + "." + F("time_unix_nano", "timeUnixNano"),
                 "missing (0), and no observed time", Reason::kTimestamp);
    }
    if (t > static_cast<uint64_t>(INT64_MAX)) {
      return Err(path + "." + tfield, std::to_string(t) + " ns is beyond the int64 range",
                 Reason::kTimestamp);
    }
    line.ts = static_cast<TimestampNs>(t);
    auto* body = r->mutable_body();
    const std::string bpath = path + ".body";
    if (body->value_case() == cv1::AnyValue::kStringValue) {
      BACKSIGHT_RETURN_IF_ERROR(Utf8(body->string_value(), bpath));
      line.line = out_->Own(std::move(*body->mutable_string_value()));
    } else {
      std::string text;
      internal::AnyToString(*body, false, 0, &text);
      BACKSIGHT_RETURN_IF_ERROR(Utf8(text, bpath));
      line.line = out_->Own(std::move(text));
    }
    if (!r->severity_text().empty()) {
      BACKSIGHT_RETURN_IF_ERROR(
          Utf8(r->severity_text(), path + "." + F("severity_text", "severityText")));
      line.level = out_->Own(std::move(*r->mutable_severity_text()));
    } else {
      line.level = SeverityName(r->severity_number());
    }
    s->entries.push_back(line);
    return Status::OK();
  }

  bool json_;
  LogBatch* out_;
};

class JsonFiller : public internal::OtlpJsonReader {
 public:
  Status Request(const Json& j, lv1::ExportLogsServiceRequest* req) {
    if (!j.is_object()) return Err("(root)", "expected a JSON object");
    return ForEachElement(j, "resourceLogs", "resource_logs", "resourceLogs",
                          [&](const Json& rl, const std::string& rlp) {
                            return ResourceLogs(rl, rlp, req->add_resource_logs());
                          });
  }

 private:
  Status ResourceLogs(const Json& j, const std::string& path, lv1::ResourceLogs* out) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(
        ResourceAttributes(j, path, out->mutable_resource()->mutable_attributes()));
    return ForEachElement(j, "scopeLogs", "scope_logs", path + ".scopeLogs",
                          [&](const Json& sl, const std::string& slp) -> Status {
                            BACKSIGHT_RETURN_IF_ERROR(IsObject(sl, slp));
                            auto* osl = out->add_scope_logs();
                            return ForEachElement(sl, "logRecords", "log_records",
                                                  slp + ".logRecords",
                                                  [&](const Json& rec, const std::string& rp) {
                                                    return Record(rec, rp, osl->add_log_records());
                                                  });
                          });
  }

  Status Record(const Json& j, const std::string& path, lv1::LogRecord* r) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    uint64_t t = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "timeUnixNano", "time_unix_nano", path, &t));
    r->set_time_unix_nano(t);
    t = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "observedTimeUnixNano", "observed_time_unix_nano", path, &t));
    r->set_observed_time_unix_nano(t);
    if (const Json* f = Field(j, "severityNumber", "severity_number")) {
      const std::string sp = path + ".severityNumber";
      if (f->is_string()) {
        const auto& name = f->get_ref<const std::string&>();
        int n = 0;
        for (int k = 1; k <= kSeverityMax && n == 0; ++k) {
          std::string base = std::string("SEVERITY_NUMBER_") + SeverityName(k);
          int step = (k - 1) % 4;
          if (name == (step == 0 ? base : base + std::to_string(step + 1))) n = k;
        }
        if (n == 0 && name != "SEVERITY_NUMBER_UNSPECIFIED") {
          int64_t v;
          BACKSIGHT_RETURN_IF_ERROR(I64(*f, sp, &v));  // a number in a string
          n = static_cast<int>(std::clamp<int64_t>(v, 0, kSeverityMax + 1));
        }
        r->set_severity_number(n);
      } else {
        int64_t v;
        BACKSIGHT_RETURN_IF_ERROR(I64(*f, sp, &v));
        r->set_severity_number(static_cast<int>(std::clamp<int64_t>(v, 0, kSeverityMax + 1)));
      }
    }
    BACKSIGHT_RETURN_IF_ERROR(
        Str(j, "severityText", "severity_text", path, r->mutable_severity_text()));
    if (const Json* b = Field(j, "body", nullptr)) {
      BACKSIGHT_RETURN_IF_ERROR(AnyValue(*b, path + ".body", 0, r->mutable_body()));
    }
    return Attributes(j, "attributes", path, r->mutable_attributes());
  }
};

Status Finish(Status st, LogBatch* out) {
  if (!st.ok()) out->Clear();
  return st;
}

}  // namespace

Status DecodeOtlpLogsProto(std::string_view body, LogBatch* out, size_t max_bytes) {
  out->Clear();
  if (body.size() > max_bytes || body.size() > static_cast<size_t>(INT_MAX)) {
    return internal::TooLarge("otlp logs", body.size(), std::min<size_t>(max_bytes, INT_MAX));
  }
  thread_local internal::ArenaBlock block;  // kept from the last request on this thread
  internal::ReusedArena arena(&block);
  auto* req = google::protobuf::Arena::CreateMessage<lv1::ExportLogsServiceRequest>(arena.get());
  if (!req->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::InvalidArgument(
        Reason::kMalformed,
        "otlp logs: malformed protobuf ExportLogsServiceRequest: " +
            internal::DiagnoseProtobuf(lv1::ExportLogsServiceRequest::descriptor(), body));
  }
  Converter conv(false, out);
  return Finish(conv.Run(req), out);
}

Status DecodeOtlpLogsJson(std::string_view body, LogBatch* out, size_t max_bytes) {
  out->Clear();
  if (body.size() > max_bytes) return internal::TooLarge("otlp logs json", body.size(), max_bytes);
  nlohmann::json j;
  BACKSIGHT_RETURN_IF_ERROR(internal::ParseJsonBody(body, "otlp json", &j));
  google::protobuf::Arena arena;
  auto* req = google::protobuf::Arena::CreateMessage<lv1::ExportLogsServiceRequest>(&arena);
  JsonFiller filler;
  BACKSIGHT_RETURN_IF_ERROR(filler.Request(j, req));
  Converter conv(true, out);
  return Finish(conv.Run(req), out);
}

}  // namespace backsight::ingest
