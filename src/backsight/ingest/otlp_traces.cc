#include "backsight/ingest/otlp_traces.h"

#include <google/protobuf/arena.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <climits>
#include <string>

#include "backsight/ingest/ingest_util.h"
#include "backsight/ingest/log_batch.h"
#include "backsight/ingest/otlp_common.h"
#include "backsight/ingest/proto/trace.pb.h"
#include "backsight/ingest/reused_arena.h"

namespace backsight::ingest {

namespace {

namespace tv1 = opentelemetry::proto::trace::v1;
using internal::Bracket;

// Id sizes of trace.proto: trace_id 16 bytes, span_id / parent_span_id 8 bytes.
constexpr size_t kTraceIdBytes = 16;
constexpr size_t kSpanIdBytes = 8;
// Highest SpanKind and StatusCode numbers of trace.proto.
constexpr int kMaxSpanKind = 5;
constexpr int kMaxStatusCode = 2;
constexpr const char* kKindNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                      "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                      "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
constexpr const char* kStatusNames[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

constexpr char kHexDigits[] = "0123456789abcdef";

// The two lowercase hex digits of every byte value, so an id converts one byte per lookup.
constexpr std::array<char, 512> kHexPairs = [] {
  std::array<char, 512> t{};
  for (int b = 0; b < 256; ++b) {
    t[2 * b] = kHexDigits[b >> 4];
    t[2 * b + 1] = kHexDigits[b & 15];
  }
  return t;
}();

#if defined(__SSE2__)
// The lowercase hex digits of 16 nibbles (byte values 0..15): '0' + n, plus 'a' - '0' - 10 for
// n > 9.
inline __m128i HexDigits(__m128i nibbles) {
  const __m128i letter = _mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9));
  return _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')),
                      _mm_and_si128(letter, _mm_set1_epi8('a' - '0' - 10)));
}
#endif

// Writes `bytes` as lowercase hex into *s (its memory reused); returns false when every byte is
// zero. With SSE2, 8 bytes per step (nibbles split, interleaved high first, mapped to digits).
bool ToHex(std::string_view bytes, std::string* s) {
  s->resize(bytes.size() * 2);
  char* o = s->data();
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  unsigned any = 0;
#if defined(__SSE2__)
  const __m128i low4 = _mm_set1_epi8(0x0f);
  __m128i any_v = _mm_setzero_si128();
  for (; end - p >= 8; p += 8, o += 16) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    any_v = _mm_or_si128(any_v, v);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
    const __m128i lo = _mm_and_si128(v, low4);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), HexDigits(_mm_unpacklo_epi8(hi, lo)));
  }
  any = _mm_movemask_epi8(_mm_cmpeq_epi8(any_v, _mm_setzero_si128())) != 0xffff;
#endif
  for (; p < end; ++p, o += 2) {
    const auto b = static_cast<unsigned char>(*p);
    any |= b;
    o[0] = kHexPairs[2 * b];
    o[1] = kHexPairs[2 * b + 1];
  }
  return any != 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Converter {
 public:
  Converter(bool json, SpanBatch::Fill* fill, uint64_t* dropped_attributes)
      : json_(json), fill_(fill), dropped_attributes_(dropped_attributes) {}

  Status Run(tv1::ExportTraceServiceRequest* req) {
    for (int i = 0; i < req->resource_spans_size(); ++i) {
      auto* rs = req->mutable_resource_spans(i);
      std::string rpath = F("resource_spans", "resourceSpans") + Bracket(i);
      std::string service, instance;
      BACKSIGHT_RETURN_IF_ERROR(Resource(rs->resource(), rpath, &service, &instance));
      for (int j = 0; j < rs->scope_spans_size(); ++j) {
        auto* ss = rs->mutable_scope_spans(j);
        std::string spath = rpath + "." + F("scope_spans", "scopeSpans") + Bracket(j);
        for (int k = 0; k < ss->spans_size(); ++k) {
          BACKSIGHT_RETURN_IF_ERROR(OneSpan(ss->mutable_spans(k), spath, k, service, instance));
        }
      }
    }
    return Status::OK();
  }

 private:
  std::string F(const char* snake, const char* camel) const { return json_ ? camel : snake; }
  static Status Err(const std::string& path, const std::string& why, Reason r) {
    return Status::InvalidArgument(r, "otlp traces: " + path + ": " + why);
  }
  static Status Utf8(std::string_view s, const std::string& path) {
    return internal::CheckUtf8(s, "otlp traces", path);
  }

  Status Resource(const opentelemetry::proto::resource::v1::Resource& r, const std::string& rpath,
                  std::string* service, std::string* instance) {
    std::string ns, text, pod, host;
    for (int i = 0; i < r.attributes_size(); ++i) {
      const auto& kv = r.attributes(i);
      const std::string_view key = kv.key();
      if (key != "service.name" && key != "service.namespace" && key != "service.instance.id" &&
          key != "k8s.pod.name" && key != "host.name") {
        continue;
      }
      text.clear();
      internal::AnyToString(kv.value(), false, 0, &text);
      BACKSIGHT_RETURN_IF_ERROR(Utf8(text, rpath + ".resource.attributes" + Bracket(i)));
      if (key == "service.name") *service = text;
      if (key == "service.namespace") ns = text;
      if (key == "service.instance.id") *instance = text;
      if (key == "k8s.pod.name") pod = text;
      if (key == "host.name") host = text;
    }
    if (service->empty()) {
      *service = std::string(kUnknownService);
    } else if (!ns.empty()) {
      *service = ns + "/" + *service;
    }
    if (instance->empty()) *instance = pod.empty() ? host : pod;
    return Status::OK();
  }

  // Checks and converts an id; on a bad one returns false with the reason in *why.
  static bool Id(const std::string& bytes, size_t want, bool optional, std::string* out,
                 std::string* why) {
    if (bytes.size() == want) {
      if (ToHex(bytes, out)) return true;
      *why = "all-zero id is invalid";
      return false;
    }
    if (optional && bytes.empty()) {
      out->clear();
      return true;
    }
    return WrongIdSize(bytes.size(), want, why);
  }

  // Id's message for an id of the wrong size (out of line: Id then needs no stack frame for it).
  [[gnu::noinline, gnu::cold]] static bool WrongIdSize(size_t got, size_t want, std::string* why) {
    *why = "expected " + std::to_string(want) + " bytes, got " + std::to_string(got);
    return false;
  }

  // `spath` is the scope's path and `k` the span's index; the span's path is built only for an
  // error message (building it for every span costs more than decoding the span).
  Status OneSpan(tv1::Span* s, const std::string& spath, int k, const std::string& service,
                 const std::string& instance) {
    auto path = [&](const char* snake, const char* camel) {
      std::string p = spath;
      p.append(".spans").append(Bracket(k));
      if (snake) p.append(".").append(F(snake, camel));
      return p;
    };
    Span& sp = fill_->NewSpan();  // a recycled span: every field is assigned below
    std::string why;
    if (!Id(s->trace_id(), kTraceIdBytes, false, &sp.trace_id, &why)) {
      return Err(path("trace_id", "traceId"), why, Reason::kMalformed);
    }
    if (!Id(s->span_id(), kSpanIdBytes, false, &sp.span_id, &why)) {
      return Err(path("span_id", "spanId"), why, Reason::kMalformed);
    }
    if (!Id(s->parent_span_id(), kSpanIdBytes, true, &sp.parent_span_id, &why)) {
      return Err(path("parent_span_id", "parentSpanId"), why, Reason::kMalformed);
    }
    size_t bad;
    if (!internal::IsValidUtf8(s->name(), &bad)) return Utf8(s->name(), path("name", "name"));
    sp.name.assign(s->name());  // into the recycled span's memory
    sp.service.assign(service);
    sp.instance.assign(instance);
    if (s->kind() < 0 || s->kind() > kMaxSpanKind) {
      return Err(path("kind", "kind"), "unknown span kind " + std::to_string(s->kind()),
                 Reason::kMalformed);
    }
    sp.kind = static_cast<SpanKind>(s->kind());
    const int code = s->status().code();
    if (code < 0 || code > kMaxStatusCode) {
      return Err(path("status", "status") + ".code", "unknown status code " + std::to_string(code),
                 Reason::kMalformed);
    }
    sp.status = static_cast<SpanStatus>(code);
    const uint64_t start = s->start_time_unix_nano();
    const uint64_t end = s->end_time_unix_nano();
    if (start == 0) {
      return Err(path("start_time_unix_nano", "startTimeUnixNano"), "missing (0)",
                 Reason::kTimestamp);
    }
    if (start > static_cast<uint64_t>(INT64_MAX)) {
      return Err(path("start_time_unix_nano", "startTimeUnixNano"),
                 std::to_string(start) + " ns is beyond the int64 range", Reason::kTimestamp);
    }
    if (end > static_cast<uint64_t>(INT64_MAX)) {
      return Err(path("end_time_unix_nano", "endTimeUnixNano"),
                 std::to_string(end) + " ns is beyond the int64 range", Reason::kTimestamp);
    }
    if (end < start) {
      return Err(path("end_time_unix_nano", "endTimeUnixNano"),
                 std::to_string(end) + " is before the start " + std::to_string(start),
                 Reason::kTimestamp);
    }
    sp.start_ns = static_cast<TimestampNs>(start);
    sp.end_ns = static_cast<TimestampNs>(end);
    std::string& text = text_;
    size_t kept = 0;  // attributes assigned into sp.attributes (recycled entries reused)
    for (int i = 0; i < s->attributes_size(); ++i) {
      auto* kv = s->mutable_attributes(i);
      if (!IsKeptSpanAttribute(kv->key())) continue;
      if (kept >= kMaxKeptAttributes) {
        ++*dropped_attributes_;
        continue;
      }
      text.clear();
      internal::AnyToString(kv->value(), false, 0, &text);
      if (!internal::IsValidUtf8(kv->key(), &bad) || !internal::IsValidUtf8(text, &bad)) {
        const std::string apath = path(nullptr, nullptr) + ".attributes" + Bracket(i);
        BACKSIGHT_RETURN_IF_ERROR(Utf8(kv->key(), apath));
        return Utf8(text, apath);
      }
      if (text.size() > kMaxAttributeValueBytes) {
        size_t cut = kMaxAttributeValueBytes;
        // Cut on a UTF-8 character boundary (never inside a continuation byte 10xxxxxx).
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        text.resize(cut);
      }
      if (kept == sp.attributes.size()) sp.attributes.emplace_back();
      sp.attributes[kept].key.assign(kv->key());
      sp.attributes[kept].value.assign(text);
      ++kept;
    }
    sp.attributes.resize(kept);
    return Status::OK();
  }

  bool json_;
  SpanBatch::Fill* fill_;
  uint64_t* dropped_attributes_;
  std::string text_;  // scratch for attribute values
};

class JsonFiller : public internal::OtlpJsonReader {
 public:
  Status Request(const Json& j, tv1::ExportTraceServiceRequest* req) {
    if (!j.is_object()) return Err("(root)", "expected a JSON object");
    const Json* rss = Field(j, "resourceSpans", "resource_spans");
    if (!rss) return Status::OK();
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*rss, "resourceSpans"));
    for (size_t i = 0; i < rss->size(); ++i) {
      BACKSIGHT_RETURN_IF_ERROR(
          ResourceSpans((*rss)[i], "resourceSpans" + Idx(i), req->add_resource_spans()));
    }
    return Status::OK();
  }

 private:
  Status ResourceSpans(const Json& j, const std::string& path, tv1::ResourceSpans* out) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    if (const Json* r = Field(j, "resource", nullptr)) {
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*r, path + ".resource"));
      BACKSIGHT_RETURN_IF_ERROR(Attributes(*r, "attributes", path + ".resource",
                                           out->mutable_resource()->mutable_attributes()));
    }
    const Json* sss = Field(j, "scopeSpans", "scope_spans");
    if (!sss) return Status::OK();
    std::string sp = path + ".scopeSpans";
    BACKSIGHT_RETURN_IF_ERROR(IsArray(*sss, sp));
    for (size_t i = 0; i < sss->size(); ++i) {
      const Json& ss = (*sss)[i];
      std::string ssp = sp + Idx(i);
      BACKSIGHT_RETURN_IF_ERROR(IsObject(ss, ssp));
      auto* oss = out->add_scope_spans();
      const Json* spans = Field(ss, "spans", nullptr);
      if (!spans) continue;
      std::string p = ssp + ".spans";
      BACKSIGHT_RETURN_IF_ERROR(IsArray(*spans, p));
      for (size_t k = 0; k < spans->size(); ++k) {
        BACKSIGHT_RETURN_IF_ERROR(OneSpan((*spans)[k], p + Idx(k), oss->add_spans()));
      }
    }
    return Status::OK();
  }

  // An id as OTLP/JSON writes it: a hex string (case-insensitive), decoded to bytes.
  static Status HexId(const Json& obj, const char* camel, const char* snake,
                      const std::string& path, std::string* out) {
    const Json* f = Field(obj, camel, snake);
    if (!f) return Status::OK();
    const std::string p = path + "." + camel;
    if (!f->is_string()) return Err(p, "expected a hex string");
    const auto& s = f->get_ref<const std::string&>();
    if (s.size() % 2 != 0) return Err(p, "odd number of hex digits in " + internal::Quote(s));
    out->resize(s.size() / 2);
    for (size_t i = 0; i < out->size(); ++i) {
      const int hi = HexValue(s[2 * i]);
      const int lo = HexValue(s[2 * i + 1]);
      if (hi < 0 || lo < 0) return Err(p, "not a hex string: " + internal::Quote(s));
      (*out)[i] = static_cast<char>(hi * 16 + lo);
    }
    return Status::OK();
  }

  // An enum field given as its number or its name (names[0..max]).
  static Status Enum(const Json& f, const std::string& p, const char* const* names, int max,
                     int* out) {
    if (f.is_string()) {
      const auto& s = f.get_ref<const std::string&>();
      for (int k = 0; k <= max; ++k) {
        if (s == names[k]) {
          *out = k;
          return Status::OK();
        }
      }
    }
    int64_t v;
    BACKSIGHT_RETURN_IF_ERROR(I64(f, p, &v));  // a number, or a number in a string
    *out = static_cast<int>(std::clamp<int64_t>(v, -1, max + 1));  // out of range: refused later
    return Status::OK();
  }

  Status OneSpan(const Json& j, const std::string& path, tv1::Span* s) {
    BACKSIGHT_RETURN_IF_ERROR(IsObject(j, path));
    BACKSIGHT_RETURN_IF_ERROR(HexId(j, "traceId", "trace_id", path, s->mutable_trace_id()));
    BACKSIGHT_RETURN_IF_ERROR(HexId(j, "spanId", "span_id", path, s->mutable_span_id()));
    BACKSIGHT_RETURN_IF_ERROR(
        HexId(j, "parentSpanId", "parent_span_id", path, s->mutable_parent_span_id()));
    BACKSIGHT_RETURN_IF_ERROR(Str(j, "name", nullptr, path, s->mutable_name()));
    if (const Json* k = Field(j, "kind", nullptr)) {
      int v = 0;
      BACKSIGHT_RETURN_IF_ERROR(Enum(*k, path + ".kind", kKindNames, kMaxSpanKind, &v));
      s->set_kind(v);
    }
    uint64_t t = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "startTimeUnixNano", "start_time_unix_nano", path, &t));
    s->set_start_time_unix_nano(t);
    t = 0;
    BACKSIGHT_RETURN_IF_ERROR(U64(j, "endTimeUnixNano", "end_time_unix_nano", path, &t));
    s->set_end_time_unix_nano(t);
    if (const Json* st = Field(j, "status", nullptr)) {
      const std::string sp = path + ".status";
      BACKSIGHT_RETURN_IF_ERROR(IsObject(*st, sp));
      if (const Json* c = Field(*st, "code", nullptr)) {
        int v = 0;
        BACKSIGHT_RETURN_IF_ERROR(Enum(*c, sp + ".code", kStatusNames, kMaxStatusCode, &v));
        s->mutable_status()->set_code(v);
      }
      BACKSIGHT_RETURN_IF_ERROR(
          Str(*st, "message", nullptr, sp, s->mutable_status()->mutable_message()));
    }
    return Attributes(j, "attributes", path, s->mutable_attributes());
  }
};

// Runs the converter into `out`, overwriting its recycled spans in place; a failing request's
// spans are taken back out again, so it appends nothing.
Status Convert(bool json, tv1::ExportTraceServiceRequest* req, SpanBatch* out) {
  const uint64_t dropped0 = out->dropped_attributes;
  SpanBatch::Fill fill(out);
  Converter conv(json, &fill, &out->dropped_attributes);
  if (Status st = conv.Run(req); !st.ok()) {
    out->dropped_attributes = dropped0;
    return st;  // the fill's destructor takes this request's spans out of `out`
  }
  fill.Commit();
  return Status::OK();
}

}  // namespace

Status DecodeOtlpTracesProto(std::string_view body, SpanBatch* out, size_t max_bytes) {
  if (body.size() > max_bytes || body.size() > static_cast<size_t>(INT_MAX)) {
    return internal::TooLarge("otlp traces", body.size(), std::min<size_t>(max_bytes, INT_MAX));
  }
  thread_local internal::ArenaBlock block;
  internal::ReusedArena arena(&block);
  auto* req = google::protobuf::Arena::CreateMessage<tv1::ExportTraceServiceRequest>(arena.get());
  if (!req->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::InvalidArgument(
        Reason::kMalformed,
        "otlp traces: malformed protobuf ExportTraceServiceRequest: " +
            internal::DiagnoseProtobuf(tv1::ExportTraceServiceRequest::descriptor(), body));
  }
  return Convert(false, req, out);
}

Status DecodeOtlpTracesJson(std::string_view body, SpanBatch* out, size_t max_bytes) {
  if (body.size() > max_bytes) {
    return internal::TooLarge("otlp traces json", body.size(), max_bytes);
  }
  nlohmann::json j;
  BACKSIGHT_RETURN_IF_ERROR(internal::ParseJsonBody(body, "otlp json", &j));
  google::protobuf::Arena arena;
  auto* req = google::protobuf::Arena::CreateMessage<tv1::ExportTraceServiceRequest>(&arena);
  JsonFiller filler;
  BACKSIGHT_RETURN_IF_ERROR(filler.Request(j, req));
  return Convert(true, req, out);
}

}  // namespace backsight::ingest
