// Internal helpers shared by the OTLP/HTTP decoders (metrics: otlp_metrics.cc, logs:
// otlp_logs.cc): attribute rendering, label-name sanitising, and the JSON-mapping readers for
// the common/v1 messages (AnyValue, KeyValue, attribute lists) with path-naming errors.
// JSON mapping: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding (lowerCamelCase
// keys, snake_case accepted; 64-bit integers as decimal strings or numbers).
#ifndef BACKSIGHT_INGEST_OTLP_COMMON_H_
#define BACKSIGHT_INGEST_OTLP_COMMON_H_

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>

#include "backsight/core/number_format.h"
#include "backsight/core/status.h"
#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/proto/common.pb.h"

namespace backsight::ingest::internal {

/// Deepest AnyValue nesting rendered or read (deeper JSON is refused, deeper protobuf is cut).
constexpr int kMaxAnyDepth = 32;
/// nlohmann/json's exception id for "number overflow parsing" (out_of_range.406, see its
/// exceptions page): a number whose magnitude exceeds the double range, e.g. 1e999.
constexpr int kJsonNumberOverflow = 406;
/// 2^64 and 2^63 as doubles: the first values beyond uint64 / int64.
constexpr double kTwoPow64 = 18446744073709551616.0;
constexpr double kTwoPow63 = 9223372036854775808.0;

/// "[i]" (built by appending; GCC 12 gives a false -Wrestrict on "[" + std::to_string(i)).
std::string Bracket(size_t i);

/// An attribute key as a Prometheus label name: characters outside [a-zA-Z0-9_] become '_', a
/// leading digit gets "key_", a leading "__" gets "key"; "" stays "".
std::string SanitizeLabelName(std::string_view s);

/// Renders an attribute value as text, appended to `*out`: strings verbatim at the top level
/// (`nested` false), arrays and maps JSON-like, bytes as base64; cut with "..." past kMaxAnyDepth.
void AnyToString(const opentelemetry::proto::common::v1::AnyValue& v, bool nested, int depth,
                 std::string* out);

/// Offset of the first '{' or '[' nested deeper than `max_depth` in JSON text, or npos (checked
/// before parsing so a hostile body cannot exhaust the stack).
size_t NestingViolation(std::string_view s, int max_depth);

/// InvalidArgument(kJson) for a body nlohmann/json refused: byte offset and JSON path for syntax
/// errors; the path for a number out of the double range.
Status DiagnoseJson(std::string_view body, const char* what = "otlp json");

/// Parses a JSON request body (OTLP/JSON, Loki push JSON) into `*out`. Errors,
/// InvalidArgument(kJson) prefixed with `what` (e.g. "otlp json"): the byte where it nests deeper
/// than kMaxJsonBodyDepth (checked first, so a hostile body cannot exhaust the stack), else
/// DiagnoseJson's.
inline constexpr int kMaxJsonBodyDepth = 64;
Status ParseJsonBody(std::string_view body, const char* what, nlohmann::json* out);

/// InvalidArgument(kTooLarge): "<what>: body of N bytes exceeds the limit of M bytes".
Status TooLarge(const char* what, size_t size, size_t max);

/// Readers of the OTLP JSON mapping into protobuf messages; decoders derive from it. Every error
/// is InvalidArgument(kJson) "otlp json: <path>: <why>".
class OtlpJsonReader {
 protected:
  using Json = nlohmann::json;

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
  // Calls `fn(element, element_path)` for each element of the array field `camel` (or `snake`)
  // of `obj`; `array_path` names the field in errors, element paths add "[i]". An absent or null
  // field is an empty array, any other non-array an error. Stops at the first error.
  template <typename Fn>
  static Status ForEachElement(const Json& obj, const char* camel, const char* snake,
                               const std::string& array_path, Fn&& fn) {
    const Json* a = Field(obj, camel, snake);
    if (!a) return Status::OK();
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*a, array_path));
    for (size_t i = 0; i < a->size(); ++i) {
      BACKSIGHT_RETURN_IF_ERROR(fn((*a)[i], array_path + Idx(i)));
    }
    return Status::OK();
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

  Status AnyValue(const Json& j, const std::string& path, int depth,
                  opentelemetry::proto::common::v1::AnyValue* out) {
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
      BACKSIGHT_RETURN_IF_ERROR(ForEachElement(*f, "values", nullptr, path + ".arrayValue.values",
                                               [&](const Json& v, const std::string& vp) {
                                                 return AnyValue(v, vp, depth + 1,
                                                                 arr->add_values());
                                               }));
    } else if (const Json* f = Field(j, "kvlistValue", "kvlist_value")) {
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*f, path + ".kvlistValue"));
      auto* kvl = out->mutable_kvlist_value();
      BACKSIGHT_RETURN_IF_ERROR(ForEachElement(*f, "values", nullptr, path + ".kvlistValue.values",
                                               [&](const Json& v, const std::string& vp) {
                                                 return KeyValue(v, vp, depth + 1,
                                                                 kvl->add_values());
                                               }));
    }
    return Status::OK();
  }

  Status KeyValue(const Json& j, const std::string& path, int depth,
                  opentelemetry::proto::common::v1::KeyValue* out) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(Str(j, "key", nullptr, path, out->mutable_key()));
    if (const Json* v = Field(j, "value", nullptr)) {
      BACKSIGHT_RETURN_IF_ERROR(AnyValue(*v, path + ".value", depth, out->mutable_value()));
    }
    return Status::OK();
  }

  // Reads obj.resource.attributes, if obj has a resource; `path` names obj.
  Status ResourceAttributes(
      const Json& obj, const std::string& path,
      google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* out) {
    const Json* r = Field(obj, "resource", nullptr);
    if (!r) return Status::OK();
    BACKSIGHT_RETURN_IF_ERROR(IsObject(*r, path + ".resource"));
    return Attributes(*r, "attributes", path + ".resource", out);
  }

  Status Attributes(
      const Json& obj, const char* key, const std::string& path,
      google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* out) {
    return ForEachElement(
        obj, key, nullptr, path + "." + key,
        [&](const Json& kv, const std::string& kvp) { return KeyValue(kv, kvp, 0, out->Add()); });
  }
};

}  // namespace backsight::ingest::internal

#endif  // BACKSIGHT_INGEST_OTLP_COMMON_H_
