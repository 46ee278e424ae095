#include "backsight/ingest/otlp_metrics.h"

#include <google/protobuf/arena.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "backsight/core/number_format.h"
#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/proto/metrics.pb.h"

namespace backsight::ingest {

namespace {

namespace mv1 = opentelemetry::proto::metrics::v1;
namespace cv1 = opentelemetry::proto::common::v1;
namespace rv1 = opentelemetry::proto::resource::v1;
using internal::Quote;

constexpr int kMaxAnyDepth = 32;
// nlohmann/json's exception id for "number overflow parsing" (out_of_range.406, see its
// exceptions page): a number whose magnitude exceeds the double range, e.g. 1e999.
constexpr int kJsonNumberOverflow = 406;
// 2^64 and 2^63 as doubles: the first values beyond uint64 / int64.
constexpr double kTwoPow64 = 18446744073709551616.0;
constexpr double kTwoPow63 = 9223372036854775808.0;

// "[i]" (built by appending; GCC 12 gives a false -Wrestrict on "[" + std::to_string(i)).
std::string Bracket(size_t i) {
  std::string s(1, '[');
  s += std::to_string(i);
  s += ']';
  return s;
}

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

std::string SanitizeLabelName(std::string_view s) {
  std::string out;
  if (s.empty()) return out;
  if (s[0] >= '0' && s[0] <= '9')
    out = "key_";
  else if (s.starts_with("__"))
    out = "key";
  for (char c : s) out.push_back(IsNameChar(c, false) ? c : '_');
  return out;
}

void AppendBase64(std::string_view in, std::string* out) {
  static constexpr char kTab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out->push_back(kTab[(v >> s) & 63]);
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = b(i) << 16 | (rest == 2 ? b(i + 1) << 8 : 0);
    out->push_back(kTab[(v >> 18) & 63]);
    out->push_back(kTab[(v >> 12) & 63]);
    out->push_back(rest == 2 ? kTab[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Renders an attribute value as label text (strings verbatim; arrays/maps JSON-like).
void AnyToString(const cv1::AnyValue& v, bool nested, int depth, std::string* out) {
  if (depth > kMaxAnyDepth) {
    out->append("...");
    return;
  }
  switch (v.value_case()) {
    case cv1::AnyValue::kStringValue:
      if (nested)
        AppendJsonString(v.string_value(), out);
      else
        out->append(v.string_value());
      break;
    case cv1::AnyValue::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case cv1::AnyValue::kIntValue:
      out->append(std::to_string(v.int_value()));
      break;
    case cv1::AnyValue::kDoubleValue:
      AppendDouble(v.double_value(), out);
      break;
    case cv1::AnyValue::kBytesValue: {
      if (nested) out->push_back('"');
      AppendBase64(v.bytes_value(), out);
      if (nested) out->push_back('"');
      break;
    }
    case cv1::AnyValue::kArrayValue: {
      out->push_back('[');
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i) out->push_back(',');
        AnyToString(v.array_value().values(i), true, depth + 1, out);
      }
      out->push_back(']');
      break;
    }
    case cv1::AnyValue::kKvlistValue: {
      out->push_back('{');
      for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
        const auto& kv = v.kvlist_value().values(i);
        if (i) out->push_back(',');
        AppendJsonString(kv.key(), out);
        out->push_back(':');
        AnyToString(kv.value(), true, depth + 1, out);
      }
      out->push_back('}');
      break;
    }
    case cv1::AnyValue::VALUE_NOT_SET:
      break;
  }
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
    TimestampNs ts;
    switch (m.data_case()) {
      case mv1::Metric::kGauge:
      case mv1::Metric::kSum: {
        bool is_sum = m.data_case() == mv1::Metric::kSum;
        const auto& pts = is_sum ? m.sum().data_points() : m.gauge().data_points();
        MetricKind kind = MetricKind::kGauge;
        if (is_sum && m.sum().is_monotonic() &&
            m.sum().aggregation_temporality() == mv1::AGGREGATION_TEMPORALITY_CUMULATIVE) {
          kind = MetricKind::kCounter;
        }
        std::string ppath = path + (is_sum ? ".sum." : ".gauge.") + F("data_points", "dataPoints");
        for (int i = 0; i < pts.size(); ++i) {
          const auto& p = pts.Get(i);
          std::string pp = ppath + Idx(i);
          if (p.flags() & mv1::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) continue;
          BACKSIGHT_RETURN_IF_ERROR(Time(p.time_unix_nano(), pp, &ts));
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
        }
        break;
      }
      case mv1::Metric::kHistogram: {
        const auto& pts = m.histogram().data_points();
        std::string ppath = path + ".histogram." + F("data_points", "dataPoints");
        for (int i = 0; i < pts.size(); ++i) {
          const auto& p = pts.Get(i);
          std::string pp = ppath + Idx(i);
          if (p.flags() & mv1::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) continue;
          BACKSIGHT_RETURN_IF_ERROR(Time(p.time_unix_nano(), pp, &ts));
          if (p.bucket_counts_size() != 0 &&
              p.bucket_counts_size() != p.explicit_bounds_size() + 1) {
            return Err(pp, std::to_string(p.bucket_counts_size()) + " bucket counts for " +
                               std::to_string(p.explicit_bounds_size()) +
                               " explicit bounds (must be bounds + 1)");
          }
          BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
          Emit(name + "_count", point, MetricKind::kHistogram, ts, static_cast<double>(p.count()));
          if (p.has_sum()) Emit(name + "_sum", point, MetricKind::kHistogram, ts, p.sum());
          uint64_t cum = 0;
          for (int b = 0; b < p.bucket_counts_size(); ++b) {
            cum += p.bucket_counts(b);
            std::string le = b < p.explicit_bounds_size() ? FormatDouble(p.explicit_bounds(b))
                                                          : std::string("+Inf");
            Emit(name + "_bucket", point, MetricKind::kHistogram, ts, static_cast<double>(cum),
                 "le", std::move(le));
          }
        }
        break;
      }
      case mv1::Metric::kExponentialHistogram: {
        const auto& pts = m.exponential_histogram().data_points();
        std::string ppath = path + "." + F("exponential_histogram", "exponentialHistogram") + "." +
                            F("data_points", "dataPoints");
        for (int i = 0; i < pts.size(); ++i) {
          const auto& p = pts.Get(i);
          std::string pp = ppath + Idx(i);
          if (p.flags() & mv1::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) continue;
          BACKSIGHT_RETURN_IF_ERROR(Time(p.time_unix_nano(), pp, &ts));
          BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
          Emit(name + "_count", point, MetricKind::kHistogram, ts, static_cast<double>(p.count()));
          if (p.has_sum()) Emit(name + "_sum", point, MetricKind::kHistogram, ts, p.sum());
        }
        break;
      }
      case mv1::Metric::kSummary: {
        const auto& pts = m.summary().data_points();
        std::string ppath = path + ".summary." + F("data_points", "dataPoints");
        for (int i = 0; i < pts.size(); ++i) {
          const auto& p = pts.Get(i);
          std::string pp = ppath + Idx(i);
          if (p.flags() & mv1::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) continue;
          BACKSIGHT_RETURN_IF_ERROR(Time(p.time_unix_nano(), pp, &ts));
          BACKSIGHT_RETURN_IF_ERROR(PointLabels(p, pp, &point));
          Emit(name + "_count", point, MetricKind::kSummary, ts, static_cast<double>(p.count()));
          Emit(name + "_sum", point, MetricKind::kSummary, ts, p.sum());
          for (const auto& q : p.quantile_values()) {
            Emit(name, point, MetricKind::kSummary, ts, q.value(), "quantile",
                 FormatDouble(q.quantile()));
          }
        }
        break;
      }
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

class JsonFiller {
 public:
  Status Request(const Json& j, mv1::ExportMetricsServiceRequest* req) {
    if (!j.is_object()) return Err("(root)", "expected a JSON object");
    const Json* rms = Field(j, "resourceMetrics", "resource_metrics");
    if (!rms) return Status::OK();
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*rms, "resourceMetrics"));
    for (size_t i = 0; i < rms->size(); ++i) {
      BACKSIGHT_RETURN_IF_ERROR(
          ResourceMetrics((*rms)[i], "resourceMetrics" + Idx(i), req->add_resource_metrics()));
    }
    return Status::OK();
  }

 private:
  static std::string Idx(size_t i) { return Bracket(i); }
  // A JSON document of the wrong shape at `path`.
  static Status Err(const std::string& path, const std::string& why) {
    return Status::InvalidArgument(Reason::kJson, "otlp json: " + path + ": " + why);
  }
  static const Json* Field(const Json& obj, const char* camel, const char* snake) {
    auto it = obj.find(camel);
    if (it == obj.end() && snake) it = obj.find(snake);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }
  static Status IsObject(const Json& j, const std::string& path) {
    return j.is_object() ? Status::OK() : Err(path, "expected an object");
  }
  static Status IsArray(const Json& j, const std::string& path) {
    return j.is_array() ? Status::OK() : Err(path, "expected an array");
  }
  static Status Str(const Json& obj, const char* camel, const char* snake, const std::string& path,
                    std::string* out) {
    const Json* f = Field(obj, camel, snake);
    if (!f) return Status::OK();
    if (!f->is_string()) return Err(path + "." + camel, "expected a string");
    *out = f->get_ref<const std::string&>();
    return Status::OK();
  }
  // A JSON number that is integral but beyond the 64-bit range arrives as a double (nlohmann/json
  // parses integers that overflow as floating point); these say which.
  static Status OutOfRange(const std::string& path, const std::string& text, const char* type) {
    return Err(path, text + " is out of the " + type + " range");
  }
  static Status U64(const Json& obj, const char* camel, const char* snake, const std::string& path,
                    uint64_t* out) {
    const Json* f = Field(obj, camel, snake);
    if (!f) return Status::OK();
    return U64Value(*f, path + "." + camel, out);
  }
  static Status U64Value(const Json& value, const std::string& p, uint64_t* out) {
    return IntValue(value, p, out);
  }
  static Status I64(const Json& f, const std::string& path, int64_t* out) {
    return IntValue(f, path, out);
  }
  // A 64-bit integer field (uint64_t or int64_t) given as a JSON number or a decimal string (the
  // OTLP/JSON encoding of 64-bit integers); fractions, values out of range and, for unsigned
  // fields, negative values are errors naming the field.
  template <typename T>
  static Status IntValue(const Json& f, const std::string& p, T* out) {
    static_assert(std::is_same_v<T, uint64_t> || std::is_same_v<T, int64_t>);
    constexpr bool kUnsigned = std::is_unsigned_v<T>;
    const std::string kind = kUnsigned ? "an unsigned integer" : "an integer";
    const char* type = kUnsigned ? "uint64" : "int64";
    const double lo = kUnsigned ? 0.0 : -kTwoPow63;
    const double hi = kUnsigned ? kTwoPow64 : kTwoPow63;
    if (f.is_number_unsigned()) {
      const uint64_t u = f.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return OutOfRange(p, std::to_string(u), type);
      }
      *out = static_cast<T>(u);
    } else if (f.is_number_integer()) {
      const int64_t i = f.get<int64_t>();
      if (kUnsigned) {
        return Err(p, "negative value " + std::to_string(i) + " for an unsigned field");
      }
      *out = static_cast<T>(i);
    } else if (f.is_number_float()) {
      const double d = f.get<double>();
      if (d != std::floor(d)) return Err(p, "expected " + kind + ", got " + FormatDouble(d));
      if (kUnsigned && d < 0) {
        return Err(p, "negative value " + FormatDouble(d) + " for an unsigned field");
      }
      if (!(d >= lo && d < hi)) return OutOfRange(p, FormatDouble(d), type);
      *out = static_cast<T>(d);
    } else if (f.is_string()) {
      const auto& s = f.get_ref<const std::string&>();
      auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
      if (r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size()) {
        return OutOfRange(p, Quote(s), type);
      }
      if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return Err(p, "expected " + kind + ", got " + Quote(s));
      }
    } else {
      return Err(p, "expected " + kind + " (number or string)");
    }
    return Status::OK();
  }
  static Status Dbl(const Json& f, const std::string& path, double* out) {
    if (f.is_number()) {
      *out = f.get<double>();
      return Status::OK();
    }
    if (f.is_string()) {
      const auto& s = f.get_ref<const std::string&>();
      if (s == "NaN")
        *out = std::nan("");
      else if (s == "Infinity")
        *out = INFINITY;
      else if (s == "-Infinity")
        *out = -INFINITY;
      else {
        auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
        if (r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size()) {
          return OutOfRange(path, Quote(s), "double");
        }
        if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
          return Err(path, "expected a number, got " + Quote(s));
        }
      }
      return Status::OK();
    }
    return Err(path, "expected a number");
  }
  static Status Bool(const Json& obj, const char* camel, const char* snake, const std::string& path,
                     bool* out) {
    const Json* f = Field(obj, camel, snake);
    if (!f) return Status::OK();
    if (!f->is_boolean()) return Err(path + "." + camel, "expected true or false");
    *out = f->get<bool>();
    return Status::OK();
  }
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

  Status AnyValue(const Json& j, const std::string& path, int depth, cv1::AnyValue* out) {
    if (depth > kMaxAnyDepth) return Err(path, "values nested deeper than 32 levels");
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    if (const Json* f = Field(j, "stringValue", "string_value")) {
      if (!f->is_string()) return Err(path + ".stringValue", "expected a string");
      out->set_string_value(f->get<std::string>());
    } else if (const Json* f = Field(j, "boolValue", "bool_value")) {
      if (!f->is_boolean()) return Err(path + ".boolValue", "expected true or false");
      out->set_bool_value(f->get<bool>());
    } else if (const Json* f = Field(j, "intValue", "int_value")) {
      int64_t v;
      BACKSIGHT_RETURN_IF_ERROR(I64(*f, path + ".intValue", &v));
      out->set_int_value(v);
    } else if (const Json* f = Field(j, "doubleValue", "double_value")) {
      double v;
      BACKSIGHT_RETURN_IF_ERROR(Dbl(*f, path + ".doubleValue", &v));
      out->set_double_value(v);
    } else if (const Json* f = Field(j, "bytesValue", "bytes_value")) {
      if (!f->is_string()) return Err(path + ".bytesValue", "expected a base64 string");
      out->set_bytes_value(f->get<std::string>());  // kept as sent (base64 text)
    } else if (const Json* f = Field(j, "arrayValue", "array_value")) {
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*f, path + ".arrayValue"));
      auto* arr = out->mutable_array_value();
      if (const Json* vals = Field(*f, "values", nullptr)) {
        std::string vp = path + ".arrayValue.values";
        BACKSIGHT_RETURN_IF_ERROR(IsArray(*vals, vp));
        for (size_t i = 0; i < vals->size(); ++i) {
          BACKSIGHT_RETURN_IF_ERROR(
              AnyValue((*vals)[i], vp + Idx(i), depth + 1, arr->add_values()));
        }
      }
    } else if (const Json* f = Field(j, "kvlistValue", "kvlist_value")) {
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*f, path + ".kvlistValue"));
      auto* kvl = out->mutable_kvlist_value();
      if (const Json* vals = Field(*f, "values", nullptr)) {
        std::string vp = path + ".kvlistValue.values";
        BACKSIGHT_RETURN_IF_ERROR(IsArray(*vals, vp));
        for (size_t i = 0; i < vals->size(); ++i) {
          BACKSIGHT_RETURN_IF_ERROR(
              KeyValue((*vals)[i], vp + Idx(i), depth + 1, kvl->add_values()));
        }
      }
    }
    return Status::OK();
  }

  Status KeyValue(const Json& j, const std::string& path, int depth, cv1::KeyValue* out) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(Str(j, "key", nullptr, path, out->mutable_key()));
    if (const Json* v = Field(j, "value", nullptr)) {
      BACKSIGHT_RETURN_IF_ERROR(AnyValue(*v, path + ".value", depth, out->mutable_value()));
    }
    return Status::OK();
  }

  Status Attributes(const Json& obj, const char* key, const std::string& path,
                    google::protobuf::RepeatedPtrField<cv1::KeyValue>* out) {
    const Json* a = Field(obj, key, nullptr);
    if (!a) return Status::OK();
    std::string ap = path + "." + key;
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*a, ap));
    for (size_t i = 0; i < a->size(); ++i) {
      BACKSIGHT_RETURN_IF_ERROR(KeyValue((*a)[i], ap + Idx(i), 0, out->Add()));
    }
    return Status::OK();
  }

  Status ResourceMetrics(const Json& j, const std::string& path, mv1::ResourceMetrics* out) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    if (const Json* r = Field(j, "resource", nullptr)) {
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*r, path + ".resource"));
      BACKSIGHT_RETURN_IF_ERROR(Attributes(*r, "attributes", path + ".resource",
                                           out->mutable_resource()->mutable_attributes()));
    }
    const Json* sms = Field(j, "scopeMetrics", "scope_metrics");
    if (!sms) return Status::OK();
    std::string sp = path + ".scopeMetrics";
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*sms, sp));
    for (size_t i = 0; i < sms->size(); ++i) {
      const Json& sm = (*sms)[i];
      std::string smp = sp + Idx(i);
      BACKSIGHT_RETURN_IF_ERROR(IsObject(sm, smp));
      auto* osm = out->add_scope_metrics();
      if (const Json* s = Field(sm, "scope", nullptr)) {
        std::string scp = smp + ".scope";
        BACKSIGHT_RETURN_IF_ERROR(IsObject(*s, scp));
        auto* scope = osm->mutable_scope();
        BACKSIGHT_RETURN_IF_ERROR(Str(*s, "name", nullptr, scp, scope->mutable_name()));
        BACKSIGHT_RETURN_IF_ERROR(Str(*s, "version", nullptr, scp, scope->mutable_version()));
        BACKSIGHT_RETURN_IF_ERROR(Attributes(*s, "attributes", scp, scope->mutable_attributes()));
      }
      if (const Json* ms = Field(sm, "metrics", nullptr)) {
        std::string mp = smp + ".metrics";
        BACKSIGHT_RETURN_IF_ERROR(IsArray(*ms, mp));
        for (size_t k = 0; k < ms->size(); ++k) {
          BACKSIGHT_RETURN_IF_ERROR(Metric((*ms)[k], mp + Idx(k), osm->add_metrics()));
        }
      }
    }
    return Status::OK();
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
    const Json* dps = Field(parent, "dataPoints", "data_points");
    if (!dps) return Status::OK();
    std::string dp = path + ".dataPoints";
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*dps, dp));
    for (size_t i = 0; i < dps->size(); ++i) {
      const Json& j = (*dps)[i];
      std::string pp = dp + Idx(i);
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
    }
    return Status::OK();
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
    const Json* dps = Field(obj, "dataPoints", "data_points");
    if (dps == nullptr) return Status::OK();
    std::string dp = path + ".dataPoints";
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*dps, dp));
    for (size_t i = 0; i < dps->size(); ++i) {
      const Json& pj = (*dps)[i];
      std::string pp = dp + Idx(i);
      auto* p = add();
      BACKSIGHT_RETURN_IF_ERROR(CommonPoint(pj, pp, p));
      uint64_t count = 0;
      BACKSIGHT_RETURN_IF_ERROR(U64(pj, "count", nullptr, pp, &count));
      p->set_count(count);
      double sum = 0;
      bool has_sum = false;
      BACKSIGHT_RETURN_IF_ERROR(OptionalSum(pj, pp, &sum, &has_sum));
      if (has_sum) p->set_sum(sum);
      BACKSIGHT_RETURN_IF_ERROR(extra(pj, pp, p));
    }
    return Status::OK();
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
            if (const Json* bc = Field(pj, "bucketCounts", "bucket_counts")) {
              std::string bp = pp + ".bucketCounts";
              BACKSIGHT_RETURN_IF_ERROR(IsArray(*bc, bp));
              for (size_t b = 0; b < bc->size(); ++b) {
                uint64_t c = 0;
                BACKSIGHT_RETURN_IF_ERROR(U64Value((*bc)[b], bp + Idx(b), &c));
                p->add_bucket_counts(c);
              }
            }
            if (const Json* eb = Field(pj, "explicitBounds", "explicit_bounds")) {
              std::string bp = pp + ".explicitBounds";
              BACKSIGHT_RETURN_IF_ERROR(IsArray(*eb, bp));
              for (size_t b = 0; b < eb->size(); ++b) {
                double d;
                BACKSIGHT_RETURN_IF_ERROR(Dbl((*eb)[b], bp + Idx(b), &d));
                p->add_explicit_bounds(d);
              }
            }
            return Status::OK();
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
            if (const Json* qv = Field(pj, "quantileValues", "quantile_values")) {
              std::string qp = pp + ".quantileValues";
              BACKSIGHT_RETURN_IF_ERROR(IsArray(*qv, qp));
              for (size_t q = 0; q < qv->size(); ++q) {
                const Json& qj = (*qv)[q];
                std::string qq = qp + Idx(q);
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
              }
            }
            return Status::OK();
          }));
    }
    return Status::OK();
  }
};

// Rejects JSON nested deeper than `max_depth` before handing it to the parser; returns the
// offending byte offset or npos.
size_t NestingViolation(std::string_view s, int max_depth) {
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"')
      in_str = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) return i;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::string_view::npos;
}

// SAX handler that builds nothing and only follows where the parser is, so that a parse failure
// (a syntax error, or a number out of the double range such as 1e999, which nlohmann/json reports
// as out_of_range 406 while parsing) can name the JSON path of the value being read.
class JsonPathTracker : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return Scalar(); }
  bool boolean(bool) override { return Scalar(); }
  bool number_integer(number_integer_t) override { return Scalar(); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(); }
  bool string(string_t&) override { return Scalar(); }
  bool binary(binary_t&) override { return Scalar(); }
  bool start_object(std::size_t) override {
    stack_.push_back({false, 0, {}});
    return true;
  }
  bool key(string_t& k) override {
    stack_.back().key = k;
    return true;
  }
  bool end_object() override { return End(); }
  bool start_array(std::size_t) override {
    stack_.push_back({true, 0, {}});
    return true;
  }
  bool end_array() override { return End(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    position_ = position;
    error_id_ = ex.id;
    what_ = ex.what();
    path_ = Path();
    return false;
  }

  /// Byte offset (0-based) where the parser stopped, the error's nlohmann id (406 = number out
  /// of range), its text, and the path of the value being parsed ("(root)" at the top).
  size_t position() const { return position_; }
  int error_id() const { return error_id_; }
  const std::string& what() const { return what_; }
  const std::string& path() const { return path_; }

 private:
  struct Level {
    bool array;
    size_t index;     // next element of an array
    std::string key;  // current key of an object
  };
  bool Scalar() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  bool End() {
    stack_.pop_back();
    return Scalar();
  }
  std::string Path() const {
    std::string p;
    for (const Level& l : stack_) {
      if (l.array) {
        p += Bracket(l.index);
      } else if (!l.key.empty()) {
        if (!p.empty()) p += '.';
        p += l.key;
      }
    }
    return p.empty() ? "(root)" : p;
  }

  std::vector<Level> stack_;
  size_t position_ = 0;
  int error_id_ = 0;
  std::string what_;
  std::string path_;
};

// Error for a body nlohmann/json refused: byte offset and path for syntax errors; the path for a
// number out of range (JSON allows any magnitude, a double does not).
Status DiagnoseJson(std::string_view body) {
  JsonPathTracker tracker;
  Json::sax_parse(body.begin(), body.end(), &tracker);
  const size_t byte = tracker.position() > 0 ? tracker.position() - 1 : 0;
  if (tracker.error_id() == kJsonNumberOverflow) {
    return Status::InvalidArgument(Reason::kJson,
                                   "otlp json: " + tracker.path() + ": number out of range (byte " +
                                       std::to_string(byte) + ": " + tracker.what() + ")");
  }
  return Status::InvalidArgument(Reason::kJson, "otlp json: byte " + std::to_string(byte) + " in " +
                                                    tracker.path() + ": invalid JSON (" +
                                                    tracker.what() + ")");
}

Status TooLarge(const char* what, size_t size, size_t max) {
  return Status::InvalidArgument(
      Reason::kTooLarge, std::string(what) + ": body of " + std::to_string(size) +
                             " bytes exceeds the limit of " + std::to_string(max) + " bytes");
}

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
  if (size_t at = NestingViolation(body, 64); at != std::string_view::npos) {
    return Status::InvalidArgument(Reason::kJson, "otlp json: byte " + std::to_string(at) +
                                                      ": JSON nested deeper than 64 levels");
  }
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DiagnoseJson(body);
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
