// A decoded batch of spans (OTLP traces, span CSV) as flat records: identity, parent link,
// service, kind, name, times, status and the database/HTTP semantic-convention attributes.
// Semantic conventions: https://opentelemetry.io/docs/specs/semconv/ (database, HTTP).
#ifndef BACKSIGHT_INGEST_SPAN_BATCH_H_
#define BACKSIGHT_INGEST_SPAN_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/time.h"

namespace backsight::ingest {

/// OTLP SpanKind (trace.proto), same numbering.
enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5
};

/// OTLP Status.code (trace.proto), same numbering.
enum class SpanStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

/// "SPAN_KIND_SERVER", ...: the OTLP enum names, which the spanmetrics connector uses as the
/// `span_kind` label value.
std::string_view SpanKindName(SpanKind k);
/// "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR" (the `status_code` label value).
std::string_view SpanStatusName(SpanStatus s);

/// A kept span attribute (key and value rendered as text).
struct SpanAttribute {
  std::string key;
  std::string value;
};

/// One span. Ids are lowercase hex (trace 32 digits, span 16 digits, as OTLP/JSON writes them;
/// span CSV ids are kept as written).
struct Span {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;  ///< "" for a root span.
  std::string service;         ///< Resource `service.name` ("unknown_service" when absent).
  std::string instance;        ///< `service.instance.id`, else `k8s.pod.name`, else `host.name`.
  std::string name;            ///< Span name (the operation).
  SpanKind kind = SpanKind::kUnspecified;
  SpanStatus status = SpanStatus::kUnset;
  TimestampNs start_ns = 0;  ///< ns since the epoch.
  TimestampNs end_ns = 0;    ///< ns since the epoch, >= start_ns.
  /// Span attributes whose key starts with "db.", "http.", "url." or "rpc." (at most
  /// kMaxKeptAttributes per span, values cut to kMaxAttributeValueBytes).
  std::vector<SpanAttribute> attributes;

  /// Duration in ns (end - start).
  int64_t duration_ns() const { return end_ns - start_ns; }
  /// The value of kept attribute `key`, or "" when absent.
  std::string_view Attribute(std::string_view key) const {
    for (const auto& a : attributes) {
      if (a.key == key) return a.value;
    }
    return {};
  }
};

/// Most attributes kept per span (further matching attributes are dropped and counted).
inline constexpr size_t kMaxKeptAttributes = 16;
/// Longest attribute value kept (a db.statement is cut here; 4 KiB holds typical SQL text).
inline constexpr size_t kMaxAttributeValueBytes = 4096;

/// Most spans a batch keeps for reuse after Recycle (2048-span requests, 8 times over; the
/// spans of larger requests beyond it are freed).
inline constexpr size_t kMaxRecycledSpans = 16384;

/// A decoded request or file.
struct SpanBatch {
  std::vector<Span> spans;
  uint64_t dropped_attributes = 0;  ///< Kept-prefix attributes beyond kMaxKeptAttributes.
  void Clear() {
    spans.clear();
    dropped_attributes = 0;
  }
  /// As Clear, but keeps up to kMaxRecycledSpans spans (their strings' and attribute lists'
  /// memory) for the next Fill of this batch: a server thread that decodes request after request
  /// into one batch then allocates nothing per span once warm. Costs no move per span when the
  /// batch holds no spare spans (the last Fill used them all), else one per span of the smaller
  /// of the two sets.
  void Recycle();

  /// Appends spans to a batch in place, for a decoder: NewSpan hands out the batch's recycled
  /// spans where they lie (their fields hold old values: every field must be assigned), then new
  /// ones. Commit keeps the spans handed out; without it, the destructor takes them out of
  /// `spans` again (kept for reuse), so a failing request appends nothing. One Fill at a time per
  /// batch; `spans` must not be touched by anything else while it lives.
  class Fill {
   public:
    explicit Fill(SpanBatch* batch);
    ~Fill();
    Fill(const Fill&) = delete;
    Fill& operator=(const Fill&) = delete;

    /// The next span of the batch (recycled or new); references stay valid until the next call.
    Span& NewSpan() {
      std::vector<Span>& v = batch_->spans;
      if (end_ < v.size()) return v[end_++];
      ++end_;
      return batch_->AppendSpare();
    }
    /// Keeps the spans handed out (`spans` then ends with them).
    void Commit();

   private:
    SpanBatch* batch_;
    size_t begin_;  // spans.size() when the fill began
    size_t end_;    // one past the last span handed out
    bool done_ = false;
  };

 private:
  // Appends a spare span (moved out of spare_) or a new one to `spans`.
  Span& AppendSpare();
  // Moves spans[keep..] into spare_ (up to kMaxRecycledSpans) and cuts `spans` to `keep`.
  void SpareFrom(size_t keep);

  std::vector<Span> spare_;
};

/// True when attribute `key` is one the span batch keeps (db.*, http.*, url.*, rpc.*).
bool IsKeptSpanAttribute(std::string_view key);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_SPAN_BATCH_H_
