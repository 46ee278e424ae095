#include "backsight/ingest/otlp_metrics.h"

#include <google/protobuf/arena.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/otlp_common.h"
#include "backsight/ingest/proto/metrics.pb.h"

namespace backsight::ingest {

namespace {

namespace mv1 = opentelemetry::proto::metrics::v1;
namespace cv1 = opentelemetry::proto::common::v1;
namespace rv1 = opentelemetry::proto::resource::v1;
using internal::AnyToString;
using internal::Bracket;
using internal::Quote;
using internal::SanitizeLabelName;
using internal::TooLarge;

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (allow_colon && c == ':');
}

std::string SanitizeMetricName(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 1);
  if (!s.empty() && s[0] >= '0' && s[0] <= '9') out.push_back('_');
  for (char c : s) out.push_back(IsNameChar(c, true) ? c : '_');
  return out;
}

struct Entry {
  std::string name;
  std::string value;
  int layer;
};

// Converts a parsed request to series. `json` only selects field naming in error paths.
class Converter {
 public:
  Converter(bool json, std::vector<TimeSeries>* out) : json_(json), builder_(out) {}

  Status Run(const mv1::ExportMetricsServiceRequest& req) {
    for (int i = 0; i < req.resource_metrics_size(); ++i) {
      const auto& rm = req.resource_metrics(i);
      std::string rpath = F("resource_metrics", "resourceMetrics") + Idx(i);
      base_.clear();
      BACKSIGHT_RETURN_IF_ERROR(ResourceLabels(rm.resource(), rpath));
      const size_t resource_entries = base_.size();
      for (int j = 0; j < rm.scope_metrics_size(); ++j) {
        const auto& sm = rm.scope_metrics(j);
        std::string spath = rpath + "." + F("scope_metrics", "scopeMetrics") + Idx(j);
        base_.resize(resource_entries);
        const auto& scope = sm.scope();
        BACKSIGHT_RETURN_IF_ERROR(
            AddEntry("otel_scope_name", scope.name(), 1, spath + ".scope.name", &base_));
        BACKSIGHT_RETURN_IF_ERROR(
            AddEntry("otel_scope_version", scope.version(), 1, spath + ".scope.version", &base_));
        BACKSIGHT_RETURN_IF_ERROR(
            Attributes(scope.attributes(), 1, spath + ".scope.attributes", &base_));
        for (int k = 0; k < sm.metrics_size(); ++k) {
          BACKSIGHT_RETURN_IF_ERROR(Metric(sm.metrics(k), spath + ".metrics" + Idx(k)));
        }
      }
    }
    return Status::OK();
  }

 private:
  std::string F(const char* snake, const char* camel) const { return json_ ? camel : snake; }
  static std::string Idx(int i) { return Bracket(static_cast<size_t>(i)); }
  // An error at field `path`; `r` is the typed reason (default: a malformed message).
  static Status Err(const std::string& path, const std::string& why,
                    Reason r = Reason::kMalformed) {
    return Status::InvalidArgument(r, "otlp: " + path + ": " + why);
  }

  Status AddEntry(std::string name, std::string_view value, int layer, const std::string& path,
                  std::vector<Entry>* entries) {
    size_t bad;
    if (!internal::IsValidUtf8(value, &bad)) {
      return Err(path, "value is not valid UTF-8 (byte " + std::to_string(bad) + ")",
                 Reason::kUtf8);
    }
    if (name.empty() || value.empty()) return Status::OK();
    entries->push_back({std::move(name), std::string(value), layer});
    return Status::OK();
  }

  Status Attributes(const google::protobuf::RepeatedPtrField<cv1::KeyValue>& attrs, int layer,
                    const std::string& path, std::vector<Entry>* entries) {
    std::string text;
    for (int i = 0; i < attrs.size(); ++i) {
      const auto& kv = attrs.Get(i);
      text.clear();
      AnyToString(kv.value(), false, 0, &text);
      BACKSIGHT_RETURN_IF_ERROR(
          AddEntry(SanitizeLabelName(kv.key()), text, layer, path + Idx(i), entries));
    }
    return Status::OK();
  }

  Status ResourceLabels(const rv1::Resource& r, const std::string& rpath) {
    std::string path = rpath + ".resource.attributes";
    std::string service, ns, text;
    for (int i = 0; i < r.attributes_size(); ++i) {
      const auto& kv = r.attributes(i);
      text.clear();
      AnyToString(kv.value(), false, 0, &text);
      std::string name;
      if (kv.key() == "service.name") {
        service = text;
        continue;
      } else if (kv.key() == "service.namespace") {
        ns = text;
        continue;
      } else if (kv.key() == "service.instance.id") {
        name = "instance";
      } else {
        name = SanitizeLabelName(kv.key());
      }
      BACKSIGHT_RETURN_IF_ERROR(AddEntry(std::move(name), text, 0, path + Idx(i), &base_));
    }
    if (!service.empty()) {
      BACKSIGHT_RETURN_IF_ERROR(
          AddEntry("job", ns.empty() ? service : ns + "/" + service, 0, path, &base_));
    }
    return Status::OK();
  }

  Status Time(uint64_t t, const std::string& path, TimestampNs* ts) {
    if (t == 0) {
      return Err(path + "." + F("time_unix_nano", "timeUnixNano"), "missing (0)",
                 Reason::kTimestamp);
    }
    if (t > static_cast<uint64_t>(INT64_MAX)) {
      return Err(path + "." + F("time_unix_nano", "timeUnixNano"),
                 std::to_string(t) + " ns is beyond the int64 range", Reason::kTimestamp);
    }
    *ts = static_cast<TimestampNs>(t);
    return Status::OK();
  }

  // Emits one sample for `name` with point attributes plus an optional extra label.
  void Emit(const std::string& name, const std::vector<Entry>& point, MetricKind kind,
            TimestampNs ts, double v, const char* extra_name = nullptr,
            std::string extra_value = {}) {
    entries_.clear();
    entries_.insert(entries_.end(), base_.begin(), base_.end());
    entries_.insert(entries_.end(), point.begin(), point.end());
    if (extra_name) entries_.push_back({extra_name, std::move(extra_value), 3});
    entries_.push_back({"__name__", name, 4});
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.name < b.name; });
    Labels labels;
    labels.reserve(entries_.size());
    for (size_t i = 0; i < entries_.size();) {
      size_t j = i;
      int top = entries_[i].layer;
      while (j < entries_.size() && entries_[j].name == entries_[i].name) {
        top = std::max(top, entries_[j].layer);
        ++j;
      }
      Label l{entries_[i].name, {}};
      bool first = true;
      for (size_t k = i; k < j; ++k) {
        if (entries_[k].layer != top) continue;
        if (!first) l.value.push_back(';');
        l.value += entries_[k].value;
        first = false;
      }
      labels.push_back(std::move(l));
      i = j;
    }
    builder_.Add(&labels, kind, Sample{ts, v});
  }

  template <typename Point>
  Status PointLabels(const Point& p, const std::string& path, std::vector<Entry>* point) {
    point->clear();
    return Attributes(p.attributes(), 2, path + ".attributes", point);
  }

  // Calls `fn(point, path, ts)` for every point of `points` (field path `points_path`) that has a
  // recorded value (OTLP data point flag NO_RECORDED_VALUE unset), after checking its time.
  // Stops at the first error.
  template <typename Points, typename Fn>
  Status ForEachPoint(const Points& points, const std::string& points_path, Fn&& fn) {
    TimestampNs ts;
    for (int i = 0; i < points.size(); ++i) {
      const auto& p = points.Get(i);
      std::string pp = points_path + Idx(i);
      if (p.flags() & mv1::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) continue;
      BACKSIGHT_RETURN_IF_ERROR(Time(p.time_unix_nano(), pp, &ts));
      BACKSIGHT_RETURN_IF_ERROR(fn(p, pp, ts));
    }
    return Status::OK();
  }

  // Emits `name`_count and `name`_sum of a histogram or summary point (the sum of a histogram
  // only when set: it is optional in OTLP, required in a summary).
  template <typename Point>
  void EmitCountAndSum(const std::string& name, const std::vector<Entry>& point, MetricKind kind,
                       TimestampNs ts, const Point& p) {
    Emit(name + "_count", point, kind, ts, static_cast<double>(p.count()));
    if constexpr (std::is_same_v<Point, mv1::SummaryDataPoint>) {
      Emit(name + "_sum", point, kind, ts, p.sum());
    } else {
      if (p.has_sum()) Emit(name + "_sum", point, kind, ts, p.sum());
    }
  }

  Status Metric(const mv1::Metric& m, const std::string& path) {
    size_t bad;
    if (!internal::IsValidUtf8(m.name(), &bad)) {
      return Err(path + ".name", "not valid UTF-8", Reason::kUtf8);
    }
    if (m.name().empty()) {
      if (m.data_case() == mv1::Metric::DATA_NOT_SET) return Status::OK();
      return Err(path + ".name", "metric has no name", Reason::kLabels);
    }
    const std::string name = SanitizeMetricName(m.name());
    std::vector<Entry> point;
    switch (m.data_case()) {
      case mv1::Metric::kGauge:
      case mv1::Metric::kSum: {
        bool is_sum = m.data_case() == mv1::Metric::kSum;
        MetricKind kind = MetricKind::kGauge;
        if (is_sum && m.sum().is_monotonic() &&
            m.sum().aggregation_temporality() == mv1::AGGREGATION_TEMPORALITY_CUMULATIVE) {
          kind = MetricKind::kCounter;
        }
        return ForEachPoint(
            is_sum ? m.sum().data_points() : m.gauge().data_points(),
            path + (is_sum ? ".sum." : ".gauge.") + F("data_points", "dataPoints"),
            [&](const mv1::NumberDataPoint& p, const std::string& pp, TimestampNs ts) -> Status {
              double v;
              if (p.value_case() == mv1::NumberDataPoint::kAsDouble) {
                v = p.as_double();
              } else if (p.value_case() == mv1::NumberDataPoint::kAsInt) {
                v = static_cast<double>(p.as_int());
              } else {
                return Err(pp, json_ ? "neither asDouble nor asInt is set"
                                     : "neither as_double nor as_int is set");
              }
              BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
              Emit(name, point, kind, ts, v);
              return Status::OK();
            });
      }
      case mv1::Metric::kHistogram:
        return ForEachPoint(
            m.histogram().data_points(), path + ".histogram." + F("data_points", "dataPoints"),
            [&](const mv1::HistogramDataPoint& p, const std::string& pp, TimestampNs ts) -> Status {
              if (p.bucket_counts_size() != 0 &&
                  p.bucket_counts_size() != p.explicit_bounds_size() + 1) {
                return Err(pp, std::to_string(p.bucket_counts_size()) + " bucket counts for " +
                                   std::to_string(p.explicit_bounds_size()) +
                                   " explicit bounds (must be bounds + 1)");
              }
              BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
              EmitCountAndSum(name, point, MetricKind::kHistogram, ts, p);
              uint64_t cum = 0;
              for (int b = 0; b < p.bucket_counts_size(); ++b) {
                cum += p.bucket_counts(b);
                std::string le = b < p.explicit_bounds_size() ? FormatDouble(p.explicit_bounds(b))
                                                              : std::string("+Inf");
                Emit(name + "_bucket", point, MetricKind::kHistogram, ts, static_cast<double>(cum),
                     "le", std::move(le));
              }
              return Status::OK();
            });
      case mv1::Metric::kExponentialHistogram:
        return ForEachPoint(m.exponential_histogram().data_points(),
                            path + "." + F("exponential_histogram", "exponentialHistogram") + "." +
                                F("data_points", "dataPoints"),
                            [&](const mv1::ExponentialHistogramDataPoint& p, const std::string& pp,
                                TimestampNs ts) -> Status {
                              BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
                              EmitCountAndSum(name, point, MetricKind::kHistogram, ts, p);
                              return Status::OK();
                            });
      case mv1::Metric::kSummary:
        return ForEachPoint(
            m.summary().data_points(), path + ".summary." + F("data_points", "dataPoints"),
            [&](const mv1::SummaryDataPoint& p, const std::string& pp, TimestampNs ts) -> Status {
              BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
              EmitCountAndSum(name, point, MetricKind::kSummary, ts, p);
              for (const auto& q : p.quantile_values()) {
                Emit(name, point, MetricKind::kSummary, ts, q.value(), "quantile",
                     FormatDouble(q.quantile()));
              }
              return Status::OK();
            });
      case mv1::Metric::DATA_NOT_SET:
        break;
    }
    return Status::OK();
  }

  bool json_;
  internal::SeriesBuilder builder_;
  std::vector<Entry> base_;     // resource (layer 0) and scope (layer 1) labels
  std::vector<Entry> entries_;  // scratch for Emit
};

// ---- JSON → protobuf message -------------------------------------------------------------------

using Json = nlohmann::json;

class JsonFiller : public internal::OtlpJsonReader {
 public:
  Status Request(const Json& j, mv1::ExportMetricsServiceRequest* req) {
    if (!j.is_object()) return Err("(root)", "expected a JSON object");
    return ForEachElement(j, "resourceMetrics", "resource_metrics", "resourceMetrics",
                          [&](const Json& rm, const std::string& rmp) {
                            return ResourceMetrics(rm, rmp, req->add_resource_metrics());
                          });
  }

 private:
  static Status Temporality(const Json& obj, const std::string& path,
                            mv1::AggregationTemporality* out) {
    const Json* f = Field(obj, "aggregationTemporality", "aggregation_temporality");
    if (!f) return Status::OK();
    std::string p = path + ".aggregationTemporality";
    if (f->is_string()) {
      mv1::AggregationTemporality t;
      if (!mv1::AggregationTemporality_Parse(f->get_ref<const std::string&>(), &t)) {
        return Err(p, "unknown temporality " + Quote(f->get_ref<const std::string&>()));
      }
      *out = t;
      return Status::OK();
    }
    int64_t v;
    BACKSIGHT_RETURN_IF_ERROR(I64(*f, p, &v));
    if (v < INT32_MIN || v > INT32_MAX) return Err(p, "enum value out of range");
    *out = static_cast<mv1::AggregationTemporality>(v);  // open enum (proto3)
    return Status::OK();
  }

  Status ResourceMetrics(const Json& j, const std::string& path, mv1::ResourceMetrics* out) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(
        ResourceAttributes(j, path, out->mutable_resource()->mutable_attributes()));
    return ForEachElement(
        j, "scopeMetrics", "scope_metrics", path + ".scopeMetrics",
        [&](const Json& sm, const std::string& smp) -> Status {
          BACKSIGHT_RETURN_IF_ERROR(IsObject(sm, smp));
          auto* osm = out->add_scope_metrics();
          if (const Json* s = Field(sm, "scope", nullptr)) {
            std::string scp = smp + ".scope";
            BACKSIGHT_RETURN_IF_ERROR(IsObject(*s, scp));
            auto* scope = osm->mutable_scope();
            BACKSIGHT_RETURN_IF_ERROR(Str(*s, "name", nullptr, scp, scope->mutable_name()));
            BACKSIGHT_RETURN_IF_ERROR(Str(*s, "version", nullptr, scp, scope->mutable_version()));
            BACKSIGHT_RETURN_IF_ERROR(
                Attributes(*s, "attributes", scp, scope->mutable_attributes()));
          }
          return ForEachElement(sm, "metrics", nullptr, smp + ".metrics",
                                [&](const Json& m, const std::string& mp) {
                                  return Metric(m, mp, osm->add_metrics());
                                });
        });
  }

  template <typename P>
  Status CommonPoint(const Json& j, const std::string& path, P* p) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(Attributes(j, "attributes", path, p->mutable_attributes()));
    uint64_t t = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "startTimeUnixNano", "start_time_unix_nano", path, &t));
    p->set_start_time_unix_nano(t);
    t = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "timeUnixNano", "time_unix_nano", path, &t));
    p->set_time_unix_nano(t);
    uint64_t flags = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "flags", nullptr, path, &flags));
    if (flags > UINT32_MAX) return OutOfRange(path + ".flags", std::to_string(flags), "uint32");
    p->set_flags(static_cast<uint32_t>(flags));
    return Status::OK();
  }

  Status NumberPoints(const Json& parent, const std::string& path,
                      google::protobuf::RepeatedPtrField<mv1::NumberDataPoint>* out) {
    return ForEachElement(parent, "dataPoints", "data_points", path + ".dataPoints",
                          [&](const Json& j, const std::string& pp) -> Status {
                            auto* p = out->Add();
                            BACKSIGHT_RETURN_IF_ERROR(CommonPoint(j, pp, p));
                            if (const Json* v = Field(j, "asDouble", "as_double")) {
                              double d;
                              BACKSIGHT_RETURN_IF_ERROR(Dbl(*v, pp + ".asDouble", &d));
                              p->set_as_double(d);
                            } else if (const Json* v = Field(j, "asInt", "as_int")) {
                              int64_t n;
                              BACKSIGHT_RETURN_IF_ERROR(I64(*v, pp + ".asInt", &n));
                              p->set_as_int(n);
                            }
                            return Status::OK();
                          });
  }

  Status OptionalSum(const Json& j, const std::string& path, double* v, bool* present) {
    const Json* f = Field(j, "sum", nullptr);
    *present = f != nullptr;
    if (!f) return Status::OK();
    return Dbl(*f, path + ".sum", v);
  }

  // Walks obj.dataPoints of a histogram, exponential histogram or summary: each element gets a
  // point from `add`, the fields every such point has (attributes, times, count, optional sum),
  // then its kind-specific fields from `extra(json, path, point)`.
  template <class Add, class Extra>
  Status CountedPoints(const Json& obj, const std::string& path, Add add, Extra extra) {
    return ForEachElement(obj, "dataPoints", "data_points", path + ".dataPoints",
                          [&](const Json& pj, const std::string& pp) -> Status {
                            auto* p = add();
                            BACKSIGHT_RETURN_IF_ERROR(CommonPoint(pj, pp, p));
                            uint64_t count = 0;
                            BACKSIGHT_RETURN_IF_ERROR(U64(pj, "count", nullptr, pp, &count));
                            p->set_count(count);
                            double sum = 0;
                            bool has_sum = false;
                            BACKSIGHT_RETURN_IF_ERROR(OptionalSum(pj, pp, &sum, &has_sum));
                            if (has_sum) p->set_sum(sum);
                            return extra(pj, pp, p);
                          });
  }

  Status Metric(const Json& j, const std::string& path, mv1::Metric* m) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(Str(j, "name", nullptr, path, m->mutable_name()));
    BACKSIGHT_RETURN_IF_ERROR(Str(j, "description", nullptr, path, m->mutable_description()));
    BACKSIGHT_RETURN_IF_ERROR(Str(j, "unit", nullptr, path, m->mutable_unit()));
    if (const Json* g = Field(j, "gauge", nullptr)) {
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*g, path + ".gauge"));
      BACKSIGHT_RETURN_IF_ERROR(
          NumberPoints(*g, path + ".gauge", m->mutable_gauge()->mutable_data_points()));
    } else if (const Json* s = Field(j, "sum", nullptr)) {
      std::string sp = path + ".sum";
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*s, sp));
      auto* sum = m->mutable_sum();
      BACKSIGHT_RETURN_IF_ERROR(NumberPoints(*s, sp, sum->mutable_data_points()));
      mv1::AggregationTemporality t = mv1::AGGREGATION_TEMPORALITY_UNSPECIFIED;
      BACKSIGHT_RETURN_IF_ERROR(Temporality(*s, sp, &t));
      sum->set_aggregation_temporality(t);
      bool mono = false;
      BACKSIGHT_RETURN_IF_ERROR(Bool(*s, "isMonotonic", "is_monotonic", sp, &mono));
      sum->set_is_monotonic(mono);
    } else if (const Json* h = Field(j, "histogram", nullptr)) {
      std::string hp = path + ".histogram";
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*h, hp));
      auto* hist = m->mutable_histogram();
      mv1::AggregationTemporality t = mv1::AGGREGATION_TEMPORALITY_UNSPECIFIED;
      BACKSIGHT_RETURN_IF_ERROR(Temporality(*h, hp, &t));
      hist->set_aggregation_temporality(t);
      BACKSIGHT_RETURN_IF_ERROR(CountedPoints(
          *h, hp, [hist] { return hist->add_data_points(); },
          [](const Json& pj, const std::string& pp, mv1::HistogramDataPoint* p) -> Status {
            BACKSIGHT_RETURN_IF_ERROR(
                ForEachElement(pj, "bucketCounts", "bucket_counts", pp + ".bucketCounts",
                               [p](const Json& c, const std::string& cp) -> Status {
                                 uint64_t n = 0;
                                 BACKSIGHT_RETURN_IF_ERROR(U64Value(c, cp, &n));
                                 p->add_bucket_counts(n);
                                 return Status::OK();
                               }));
            return ForEachElement(pj, "explicitBounds", "explicit_bounds", pp + ".explicitBounds",
                                  [p](const Json& b, const std::string& bp) -> Status {
                                    double d;
                                    BACKSIGHT_RETURN_IF_ERROR(Dbl(b, bp, &d));
                                    p->add_explicit_bounds(d);
                                    return Status::OK();
                                  });
          }));
    } else if (const Json* e = Field(j, "exponentialHistogram", "exponential_histogram")) {
      std::string ep = path + ".exponentialHistogram";
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*e, ep));
      auto* eh = m->mutable_exponential_histogram();
      mv1::AggregationTemporality t = mv1::AGGREGATION_TEMPORALITY_UNSPECIFIED;
      BACKSIGHT_RETURN_IF_ERROR(Temporality(*e, ep, &t));
      eh->set_aggregation_temporality(t);
      BACKSIGHT_RETURN_IF_ERROR(CountedPoints(
          *e, ep, [eh] { return eh->add_data_points(); },
          [](const Json&, const std::string&, mv1::ExponentialHistogramDataPoint*) {
            return Status::OK();
          }));
    } else if (const Json* s = Field(j, "summary", nullptr)) {
      std::string sp = path + ".summary";
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*s, sp));
      auto* summary = m->mutable_summary();
      BACKSIGHT_RETURN_IF_ERROR(CountedPoints(
          *s, sp, [summary] { return summary->add_data_points(); },
          [](const Json& pj, const std::string& pp, mv1::SummaryDataPoint* p) -> Status {
            return ForEachElement(pj, "quantileValues", "quantile_values", pp + ".quantileValues",
                                  [p](const Json& qj, const std::string& qq) -> Status {
                                    BACKSIGHT_RETURN_IF_ERROR(IsObject(qj, qq));
                                    auto* out_q = p->add_quantile_values();
                                    double d = 0;
                                    if (const Json* f = Field(qj, "quantile", nullptr)) {
                                      BACKSIGHT_RETURN_IF_ERROR(Dbl(*f, qq + ".quantile", &d));
                                    }
                                    out_q->set_quantile(d);
                                    d = 0;
                                    if (const Json* f = Field(qj, "value", nullptr)) {
                                      BACKSIGHT_RETURN_IF_ERROR(Dbl(*f, qq + ".value", &d));
                                    }
                                    out_q->set_value(d);
                                    return Status::OK();
                                  });
          }));
    }
    return Status::OK();
  }
};

}  // namespace

Status DecodeOtlpMetricsProto(std::string_view body, std::vector<TimeSeries>* out,
                              size_t max_bytes) {
  out->clear();
  if (body.size() > max_bytes || body.size() > static_cast<size_t>(INT_MAX)) {
    return TooLarge("otlp", body.size(), std::min<size_t>(max_bytes, INT_MAX));
  }
  google::protobuf::Arena arena;
  auto* req = google::protobuf::Arena::CreateMessage<mv1::ExportMetricsServiceRequest>(&arena);
  if (!req->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::InvalidArgument(
        Reason::kMalformed,
        "otlp: malformed protobuf ExportMetricsServiceRequest: " +
            internal::DiagnoseProtobuf(mv1::ExportMetricsServiceRequest::descriptor(), body));
  }
  Converter conv(false, out);
  Status st = conv.Run(*req);
  if (!st.ok()) out->clear();
  return st;
}

Status DecodeOtlpMetricsJson(std::string_view body, std::vector<TimeSeries>* out,
                             size_t max_bytes) {
  out->clear();
  if (body.size() > max_bytes) return TooLarge("otlp json", body.size(), max_bytes);
  nlohmann::json j;
  BACKSIGHT_RETURN_IF_ERROR(internal::ParseJsonBody(body, "otlp json", &j));
  google::protobuf::Arena arena;
  auto* req = google::protobuf::Arena::CreateMessage<mv1::ExportMetricsServiceRequest>(&arena);
  JsonFiller filler;
  BACKSIGHT_RETURN_IF_ERROR(filler.Request(j, req));
  Converter conv(true, out);
  Status st = conv.Run(*req);
  if (!st.ok()) out->clear();
  return st;
}

}  // namespace backsight::ingest
