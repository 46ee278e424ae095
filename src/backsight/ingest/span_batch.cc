#include "backsight/ingest/span_batch.h"

namespace backsight::ingest {

std::string_view SpanKindName(SpanKind k) {
  switch (k) {
    case SpanKind::kInternal:
      return "SPAN_KIND_INTERNAL";
    case SpanKind::kServer:
      return "SPAN_KIND_SERVER";
    case SpanKind::kClient:
      return "SPAN_KIND_CLIENT";
    case SpanKind::kProducer:
      return "SPAN_KIND_PRODUCER";
    case SpanKind::kConsumer:
      return "SPAN_KIND_CONSUMER";
    case SpanKind::kUnspecified:
      break;
  }
  return "SPAN_KIND_UNSPECIFIED";
}

std::string_view SpanStatusName(SpanStatus s) {
  switch (s) {
    case SpanStatus::kOk:
      return "STATUS_CODE_OK";
    case SpanStatus::kError:
      return "STATUS_CODE_ERROR";
    case SpanStatus::kUnset:
      break;
  }
  return "STATUS_CODE_UNSET";
}

bool IsKeptSpanAttribute(std::string_view key) {
  return key.starts_with("db.") || key.starts_with("http.") || key.starts_with("url.") ||
         key.starts_with("rpc.");
}

}  // namespace backsight::ingest
