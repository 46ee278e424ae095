#include "backsight/analyze/api/access_log.h"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "backsight/core/time.h"

namespace backsight::api {
namespace {

// HTTP status codes are three digits, 100..599 (RFC 9110 section 15).
constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;

Status Malformed(size_t byte, std::string_view why) {
  return Status::InvalidArgument(Reason::kMalformed,
                                 "byte " + std::to_string(byte + 1) + ": " + std::string(why));
}

// Parses a three-digit status; false when `s` is not one in [kMinStatus, kMaxStatus].
bool ParseStatus(std::string_view s, int* out) {
  if (s.size() != 3) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < kMinStatus || v > kMaxStatus) return false;
  *out = v;
  return true;
}

// A method token (RFC 9110 section 9: token characters; we accept upper-case letters, which every
// registered method uses, plus '-' and '_' for extension methods).
bool IsMethod(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) return false;
  }
  return true;
}

// Splits "METHOD TARGET PROTO" (PROTO optional, as in HTTP/0.9 lines) into method and target.
bool SplitRequestLine(std::string_view req, std::string_view* method, std::string_view* target) {
  size_t sp = req.find(' ');
  if (sp == std::string_view::npos) return false;
  *method = req.substr(0, sp);
  std::string_view rest = req.substr(sp + 1);
  size_t sp2 = rest.find(' ');
  *target = sp2 == std::string_view::npos ? rest : rest.substr(0, sp2);
  return IsMethod(*method) && !target->empty();
}

// Splits "a,b,c" into its names.
std::vector<std::string> SplitNames(std::string_view names) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= names.size()) {
    size_t e = names.find(',', pos);
    if (e == std::string_view::npos) e = names.size();
    if (e > pos) out.emplace_back(names.substr(pos, e - pos));
    pos = e + 1;
  }
  return out;
}

// The fields of a JSON access-log line that the parser reads.
enum JsonField {
  kFieldMethod,
  kFieldPath,
  kFieldStatus,
  kFieldTime,
  kFieldRequest,
  kFieldClient,
  kFieldUser,
  kFieldUserAgent,
  kNumFields
};

// A logged "-" means "no value" in CLF (Apache mod_log_config).
std::string_view DashAsEmpty(std::string_view s) { return s == "-" ? std::string_view() : s; }

// The quoted field starting at line[p] == '"' (escaped quotes \" skipped, as nginx and Apache
// write them): its content, and *end just past the closing quote; false when unterminated.
bool QuotedField(std::string_view line, size_t p, std::string_view* out, size_t* end) {
  size_t q = p + 1;
  while (q < line.size() && line[q] != '"') q += line[q] == '\\' ? 2 : 1;
  if (q >= line.size()) return false;
  *out = line.substr(p + 1, q - p - 1);
  *end = q + 1;
  return true;
}

// One field's value as found: the rank of the name it came under (lower = earlier in the
// option's list, which wins), and the value if it was a string or an integer.
struct JsonValue {
  size_t rank = SIZE_MAX;
  enum Kind { kAbsent, kString, kInteger, kOther } kind = kAbsent;
  std::string_view text;  // strings (in the parser's buffer) or numbers (in number_text)
  int64_t integer = 0;
  std::string number_text;
};

}  // namespace

void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  // Absolute form (RFC 9112 section 3.2.2): scheme "://" authority path.
  if (!target.empty() && target[0] != '/') {
    size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      size_t slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    *path = target;
    *query = {};
  } else {
    *path = target.substr(0, q);
    *query = target.substr(q + 1);
  }
  size_t hash = path->find('#');
  if (hash != std::string_view::npos) *path = path->substr(0, hash);
}

bool ParseClfTime(std::string_view s, int64_t* ns) {
  // dd/Mon/yyyy:HH:MM:SS +zzzz  (26 characters), rewritten as ISO 8601 for the core parser.
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[20] != ' ') return false;
  const char* m = static_cast<const char*>(memmem(kMonths, 36, s.data() + 3, 3));
  if (m == nullptr || (m - kMonths) % 3 != 0) return false;
  const int month = static_cast<int>(m - kMonths) / 3 + 1;
  char iso[32];
  // yyyy-mm-ddTHH:MM:SS+zz:zz
  std::memcpy(iso, s.data() + 7, 4);
  iso[4] = '-';
  iso[5] = static_cast<char>('0' + month / 10);
  iso[6] = static_cast<char>('0' + month % 10);
  iso[7] = '-';
  std::memcpy(iso + 8, s.data(), 2);
  iso[10] = 'T';
  std::memcpy(iso + 11, s.data() + 12, 8);
  iso[19] = s[21];
  std::memcpy(iso + 20, s.data() + 22, 2);
  iso[22] = ':';
  std::memcpy(iso + 23, s.data() + 24, 2);
  return TryParseTimestamp(std::string_view(iso, 25), ns);
}

AccessLogParser::AccessLogParser(AccessLogOptions options)
    : options_(std::move(options)),
      json_names_{SplitNames(options_.json_method),  SplitNames(options_.json_path),
                  SplitNames(options_.json_status),  SplitNames(options_.json_time),
                  SplitNames(options_.json_request), SplitNames(options_.json_client),
                  SplitNames(options_.json_user),    SplitNames(options_.json_user_agent)},
      json_parser_(std::make_unique<simdjson::dom::parser>()) {}
AccessLogParser::~AccessLogParser() = default;
AccessLogParser::AccessLogParser(AccessLogParser&&) noexcept = default;
AccessLogParser& AccessLogParser::operator=(AccessLogParser&&) noexcept = default;

Status AccessLogParser::Parse(std::string_view line, AccessRecord* out) {
  *out = AccessRecord();
  switch (options_.format) {
    case AccessLogFormat::kCombined:
      return ParseCombined(line, out);
    case AccessLogFormat::kJson:
      return ParseJson(line, out);
    case AccessLogFormat::kAuto:
      break;
  }
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < line.size() && line[i] == '{') return ParseJson(line, out);
  return ParseCombined(line, out);
}

Status AccessLogParser::ParseCombined(std::string_view line, AccessRecord* out) const {
  // host ident authuser: three space-separated fields (nginx: $remote_addr - $remote_user).
  size_t p = 0;
  std::string_view fields[3];
  for (int field = 0; field < 3; ++field) {
    size_t sp = line.find(' ', p);
    if (sp == std::string_view::npos || sp == p) {
      return Malformed(p, "expected host, ident and user fields before the time");
    }
    fields[field] = line.substr(p, sp - p);
    p = sp + 1;
  }
  if (p >= line.size() || line[p] != '[') return Malformed(p, "expected '[' opening the time");
  size_t close = line.find(']', p);
  if (close == std::string_view::npos) return Malformed(p, "no ']' closing the time");
  const std::string_view time = line.substr(p + 1, close - p - 1);
  if (time.size() < sizeof(last_time_) && time == std::string_view(last_time_, last_time_len_)) {
    out->time_ns = last_time_ns_;
  } else if (int64_t ns; ParseClfTime(time, &ns)) {
    out->time_ns = ns;
    if (time.size() < sizeof(last_time_)) {
      std::memcpy(last_time_, time.data(), time.size());
      last_time_len_ = time.size();
      last_time_ns_ = ns;
    }
  }
  p = close + 1;
  if (p + 1 >= line.size() || line[p] != ' ' || line[p + 1] != '"') {
    return Malformed(p, "expected ' \"' before the request line");
  }
  p += 2;
  // The request line ends at the next '"' (escaped quotes \" are skipped, as nginx writes them).
  size_t q = p;
  while (q < line.size() && line[q] != '"') q += line[q] == '\\' ? 2 : 1;
  if (q >= line.size()) return Malformed(p, "no '\"' closing the request line");
  std::string_view method, target;
  if (!SplitRequestLine(line.substr(p, q - p), &method, &target)) {
    return Malformed(p, "request line is not \"METHOD TARGET PROTOCOL\"");
  }
  p = q + 1;
  if (p >= line.size() || line[p] != ' ') return Malformed(p, "expected ' ' before the status");
  ++p;
  size_t sp = line.find(' ', p);
  std::string_view status = line.substr(p, sp == std::string_view::npos ? sp : sp - p);
  if (!ParseStatus(status, &out->status)) {
    return Malformed(p, "status is not a three-digit HTTP code in 100..599");
  }
  out->method = method;
  SplitTarget(target, &out->path, &out->query);
  if (out->path.empty() || out->path[0] != '/') {
    return Malformed(p, "request target is not a path starting with '/'");
  }
  out->client = fields[0];
  out->user = DashAsEmpty(fields[2]);
  // Combined: status bytes "referer" "user-agent" (the user agent is the second quoted field).
  if (sp != std::string_view::npos) {
    size_t r = line.find('"', sp);
    std::string_view referer, agent;
    size_t end = 0;
    if (r != std::string_view::npos && QuotedField(line, r, &referer, &end) &&
        end + 1 < line.size() && line[end] == ' ' && line[end + 1] == '"' &&
        QuotedField(line, end + 1, &agent, &end)) {
      out->user_agent = DashAsEmpty(agent);
    }
  }
  return Status::OK();
}

Status AccessLogParser::ParseJson(std::string_view line, AccessRecord* out) {
  // simdjson's DOM parser (Langdale & Lemire, "Parsing gigabytes of JSON per second", VLDB J.
  // 2019; SIMD kernel chosen at run time) needs SIMDJSON_PADDING readable bytes after the end.
  json_buf_.assign(line);
  json_buf_.append(simdjson::SIMDJSON_PADDING, '\0');
  JsonValue values[kNumFields];
  simdjson::dom::element doc;
  simdjson::dom::object obj;
  if (json_parser_->parse(json_buf_.data(), line.size(), false).get(doc) || doc.get(obj)) {
    return Status::InvalidArgument(Reason::kJson, "not a JSON object");
  }
  for (const simdjson::dom::key_value_pair member : obj) {
    const std::string_view key = member.key;
    int field = -1;
    size_t rank = 0;
    for (int f = 0; f < kNumFields && field < 0; ++f) {
      for (size_t r = 0; r < json_names_[f].size(); ++r) {
        if (json_names_[f][r] == key) {
          field = f;
          rank = r;
          break;
        }
      }
    }
    if (field < 0 || rank >= values[field].rank) continue;
    JsonValue& v = values[field];
    v.rank = rank;
    v.kind = JsonValue::kOther;
    v.text = {};
    const simdjson::dom::element val = member.value;
    if (val.is_string()) {
      v.text = val.get_string().value_unsafe();
      v.kind = JsonValue::kString;
    } else if (val.is_int64()) {
      v.integer = val.get_int64().value_unsafe();
      v.kind = JsonValue::kInteger;
      v.number_text = std::to_string(v.integer);
      v.text = v.number_text;
    } else if (val.is_number()) {
      v.number_text = std::to_string(val.get_double().value_unsafe());
      v.text = v.number_text;
    }
  }
  const JsonValue& method = values[kFieldMethod];
  const JsonValue& path = values[kFieldPath];
  const JsonValue& request = values[kFieldRequest];
  std::string_view method_s, target_s;
  if (method.kind == JsonValue::kString && path.kind == JsonValue::kString) {
    method_s = method.text;
    target_s = path.text;
  } else if (request.kind == JsonValue::kString) {
    if (!SplitRequestLine(request.text, &method_s, &target_s)) {
      return Status::InvalidArgument(Reason::kJson,
                                     "field \"request\" is not \"METHOD TARGET PROTOCOL\"");
    }
  } else {
    return Status::InvalidArgument(Reason::kJson, "no string method and path field (looked for " +
                                                      options_.json_method + " and " +
                                                      options_.json_path + ")");
  }
  if (!IsMethod(method_s)) {
    return Status::InvalidArgument(Reason::kJson,
                                   "method \"" + std::string(method_s) + "\" is not a method");
  }
  const JsonValue& status = values[kFieldStatus];
  if (status.kind == JsonValue::kAbsent) {
    return Status::InvalidArgument(Reason::kJson,
                                   "no status field (looked for " + options_.json_status + ")");
  }
  int code = 0;
  if (status.kind == JsonValue::kInteger) {
    code = status.integer >= kMinStatus && status.integer <= kMaxStatus
               ? static_cast<int>(status.integer)
               : 0;
  } else if (status.kind == JsonValue::kString) {
    if (!ParseStatus(status.text, &code)) code = 0;
  }
  if (code == 0) {
    return Status::InvalidArgument(Reason::kJson, "status \"" + std::string(status.text) +
                                                      "\" is not an HTTP code in 100..599");
  }
  const JsonValue& t = values[kFieldTime];
  if (int64_t ns;
      (t.kind == JsonValue::kString || t.kind == JsonValue::kInteger || !t.text.empty()) &&
      (TryParseTimestamp(t.text, &ns) || ParseClfTime(t.text, &ns))) {
    out->time_ns = ns;
  }
  // Copies of the fields the record points to, in one buffer (views taken after it is complete).
  auto text_of = [&](JsonField f) {
    return values[f].kind == JsonValue::kString ? values[f].text : std::string_view();
  };
  const std::string_view extra[] = {text_of(kFieldClient), DashAsEmpty(text_of(kFieldUser)),
                                    DashAsEmpty(text_of(kFieldUserAgent))};
  scratch_.assign(method_s);
  const size_t method_len = scratch_.size();
  scratch_ += target_s;
  const size_t target_end = scratch_.size();
  for (std::string_view e : extra) scratch_ += e;
  const std::string_view buf(scratch_);
  out->method = buf.substr(0, method_len);
  out->status = code;
  size_t at = target_end;
  std::string_view* dst[] = {&out->client, &out->user, &out->user_agent};
  for (int i = 0; i < 3; ++i) {
    *dst[i] = buf.substr(at, extra[i].size());
    at += extra[i].size();
  }
  SplitTarget(buf.substr(method_len, target_end - method_len), &out->path, &out->query);
  if (out->path.empty() || out->path[0] != '/') {
    return Status::InvalidArgument(
        Reason::kJson, "path \"" + std::string(target_s) + "\" does not start with '/'");
  }
  return Status::OK();
}

}  // namespace backsight::api
