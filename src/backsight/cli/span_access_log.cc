#include "backsight/cli/span_access_log.h"

#include <charconv>

namespace backsight::cli {
namespace {

// Status codes an access record may carry (AccessRecord::status: 100..599, RFC 9110 §15).
constexpr int kMinHttpStatus = 100;
constexpr int kMaxHttpStatus = 599;

// The value of the first of two attributes present (stable name, then the pre-1.21 name).
std::string_view FirstOf(const ingest::Span& s, std::string_view stable, std::string_view old) {
  std::string_view v = s.Attribute(stable);
  return v.empty() ? s.Attribute(old) : v;
}

}  // namespace

SpanUse SpanToAccessRecord(const ingest::Span& span, api::AccessRecord* out) {
  if (span.kind != ingest::SpanKind::kServer && span.kind != ingest::SpanKind::kUnspecified) {
    return SpanUse::kNotServer;
  }
  const std::string_view method = FirstOf(span, "http.request.method", "http.method");
  const std::string_view status_text =
      FirstOf(span, "http.response.status_code", "http.status_code");
  std::string_view path = span.Attribute("url.path"), query;
  if (!path.empty()) {
    query = span.Attribute("url.query");
  } else {
    api::SplitTarget(span.Attribute("http.target"), &path, &query);
  }
  int status = 0;
  const char* end = status_text.data() + status_text.size();
  auto [ptr, ec] = std::from_chars(status_text.data(), end, status);
  if (method.empty() || path.empty() || ec != std::errc() || ptr != end ||
      status < kMinHttpStatus || status > kMaxHttpStatus) {
    return SpanUse::kIncomplete;
  }
  out->method = method;
  out->path = path;
  out->query = query;
  out->status = status;
  out->time_ns = span.start_ns;
  return SpanUse::kUsed;
}

void AddServerSpans(const ingest::SpanBatch& batch, api::ApiInferrer* inferrer,
                    SpanCounts* counts) {
  api::AccessRecord rec;
  for (const ingest::Span& span : batch.spans) {
    switch (SpanToAccessRecord(span, &rec)) {
      case SpanUse::kUsed:
        inferrer->Add(rec);
        ++counts->used;
        break;
      case SpanUse::kNotServer:
        ++counts->not_server;
        break;
      case SpanUse::kIncomplete:
        ++counts->incomplete;
        break;
    }
  }
}

bool LooksLikeOtlpTracesLine(std::string_view line) {
  auto skip_space = [&line](size_t i) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    return i;
  };
  size_t i = skip_space(0);
  if (i >= line.size() || line[i] != '{') return false;
  const std::string_view rest = line.substr(skip_space(i + 1));
  return rest.starts_with("\"resourceSpans\"") || rest.starts_with("\"resource_spans\"");
}

}  // namespace backsight::cli
