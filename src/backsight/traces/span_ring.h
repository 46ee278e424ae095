// The most recent spans, bounded, reduced to what latency attribution (attribution.h) reads: ids,
// parent, service, name, start and end. `backsight serve` keeps one so that the live incident
// ranking can compare an incident's window with the minutes before it (incidents/trace_evidence.h).
#ifndef BACKSIGHT_TRACES_SPAN_RING_H_
#define BACKSIGHT_TRACES_SPAN_RING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/time.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::traces {

/// One remembered span. Ids are std::hash values of the id text (64 bits: among 100,000 spans two
/// distinct ids share a hash with probability ~3e-10, as in service_graph.h); service and name
/// are indexes into the ring's name table.
struct RingSpan {
  uint64_t trace = 0;
  uint64_t span = 0;
  uint64_t parent = 0;  ///< 0: no parent (a root span).
  TimestampNs start_ns = 0;
  TimestampNs end_ns = 0;
  uint32_t service = 0;
  uint32_t name = 0;
};

/// A copy of a ring's spans and names, taken under the owner's lock and read outside it.
struct SpanRingCopy {
  std::vector<RingSpan> spans;  ///< Arrival order, oldest first.
  std::vector<std::string> names;
  /// Appends the spans that started in [from_ns, to_ns) as ingest::Span (ids as 16 hex digits
  /// of their hash, parent "" for a root; kind, status, instance and attributes unset).
  void ToSpans(TimestampNs from_ns, TimestampNs to_ns, std::vector<ingest::Span>* out) const;
  /// Appends one of `spans` as ToSpans does.
  void AppendSpan(const RingSpan& r, std::vector<ingest::Span>* out) const;
};

/// A bounded ring of the most recent spans (oldest overwritten). Services and span names are
/// interned in a table of at most kMaxNames names; a span with a new name past it empties the
/// ring and the table (counted in resets(): span names should be low-cardinality, OpenTelemetry
/// trace API "Span name"). Not thread-safe.
class SpanRing {
 public:
  /// Bytes held per remembered span (names excluded, interned once each).
  static constexpr size_t kBytesPerSpan = sizeof(RingSpan);
  /// Name table bound (distinct services plus span names).
  static constexpr size_t kMaxNames = 65536;

  /// Keeps at most `capacity` spans (0: keeps none).
  explicit SpanRing(size_t capacity);

  /// Remembers the spans of a batch, in order.
  void Add(const std::vector<ingest::Span>& spans);
  /// Copies the spans and names into `out` (its memory reused).
  void CopyTo(SpanRingCopy* out) const;

  size_t size() const { return count_; }
  size_t capacity() const { return capacity_; }
  /// A lower bound of the start (ns since the epoch) of every span held: the earliest start
  /// remembered since the ring was last empty (exact until spans are overwritten, then possibly
  /// older than the oldest still held). INT64_MAX when the ring is empty. O(1); lets a reader
  /// tell that no span started before a time without copying the ring.
  TimestampNs min_start_ns() const { return min_start_ns_; }
  /// Times the name table filled up and the ring was emptied.
  uint64_t resets() const { return resets_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  uint32_t NameId(std::string_view name);
  void Clear();

  size_t capacity_;
  std::vector<RingSpan> ring_;  // slot n % capacity_ holds the n-th span remembered
  size_t next_ = 0;             // slot of the next span
  size_t count_ = 0;
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> name_ids_;
  uint64_t resets_ = 0;
  TimestampNs min_start_ns_ = INT64_MAX;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_SPAN_RING_H_
