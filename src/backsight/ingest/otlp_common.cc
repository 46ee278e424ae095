#include "backsight/ingest/otlp_common.h"

#include <cstdio>

namespace backsight::ingest::internal {

namespace {

namespace cv1 = opentelemetry::proto::common::v1;
using Json = nlohmann::json;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
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

}  // namespace

// "[i]" (built by appending; GCC 12 gives a false -Wrestrict on "[" + std::to_string(i)).
std::string Bracket(size_t i) {
  std::string s(1, '[');
  s += std::to_string(i);
  s += ']';
  return s;
}

std::string SanitizeLabelName(std::string_view s) {
  std::string out;
  if (s.empty()) return out;
  if (s[0] >= '0' && s[0] <= '9')
    out = "key_";
  else if (s.starts_with("__"))
    out = "key";
  for (char c : s) out.push_back(IsNameChar(c) ? c : '_');
  return out;
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

namespace {

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

}  // namespace

Status ParseJsonBody(std::string_view body, const char* what, nlohmann::json* out) {
  if (size_t at = NestingViolation(body, kMaxJsonBodyDepth); at != std::string_view::npos) {
    return Status::InvalidArgument(
        Reason::kJson, std::string(what) + ": byte " + std::to_string(at) +
                           ": JSON nested deeper than " + std::to_string(kMaxJsonBodyDepth) +
                           " levels");
  }
  *out = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return DiagnoseJson(body, what);
  return Status::OK();
}

// Error for a body nlohmann/json refused: byte offset and path for syntax errors; the path for a
// number out of range (JSON allows any magnitude, a double does not).
Status DiagnoseJson(std::string_view body, const char* what) {
  JsonPathTracker tracker;
  Json::sax_parse(body.begin(), body.end(), &tracker);
  const size_t byte = tracker.position() > 0 ? tracker.position() - 1 : 0;
  if (tracker.error_id() == kJsonNumberOverflow) {
    return Status::InvalidArgument(
        Reason::kJson, std::string(what) + ": " + tracker.path() + ": number out of range (byte " +
                           std::to_string(byte) + ": " + tracker.what() + ")");
  }
  return Status::InvalidArgument(Reason::kJson, std::string(what) + ": byte " +
                                                    std::to_string(byte) + " in " + tracker.path() +
                                                    ": invalid JSON (" + tracker.what() + ")");
}

Status TooLarge(const char* what, size_t size, size_t max) {
  return Status::InvalidArgument(
      Reason::kTooLarge, std::string(what) + ": body of " + std::to_string(size) +
                             " bytes exceeds the limit of " + std::to_string(max) + " bytes");
}

}  // namespace backsight::ingest::internal
