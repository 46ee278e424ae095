#include "backsight/traces/span_ring.h"

#include <algorithm>
#include <functional>

#include "backsight/core/labels.h"

namespace backsight::traces {

SpanRing::SpanRing(size_t capacity) : capacity_(capacity) {}

void SpanRing::Clear() {
  ring_.clear();
  next_ = count_ = 0;
  min_start_ns_ = INT64_MAX;
  names_.clear();
  name_ids_.clear();
}

uint32_t SpanRing::NameId(std::string_view name) {
  if (auto it = name_ids_.find(name); it != name_ids_.end()) return it->second;
  if (names_.size() >= kMaxNames) {
    Clear();
    ++resets_;
  }
  const auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  name_ids_.emplace(names_.back(), id);
  return id;
}

void SpanRing::Add(const std::vector<ingest::Span>& spans) {
  if (capacity_ == 0) return;
  if (ring_.capacity() < capacity_) ring_.reserve(capacity_);  // once: no doubling slack
  const std::hash<std::string_view> hash;
  for (const ingest::Span& s : spans) {
    RingSpan r;
    r.trace = hash(s.trace_id);
    r.span = hash(s.span_id);
    r.parent = s.parent_span_id.empty() ? 0 : hash(s.parent_span_id);
    r.start_ns = s.start_ns;
    r.end_ns = s.end_ns;
    // Interning may empty the ring and the table (full): then the service is interned again.
    r.service = NameId(s.service);
    const uint64_t resets_before = resets_;
    r.name = NameId(s.name);
    if (resets_ != resets_before) r.service = NameId(s.service);
    min_start_ns_ = std::min(min_start_ns_, r.start_ns);
    if (ring_.size() < capacity_) {
      ring_.push_back(r);
    } else {
      ring_[next_] = r;
    }
    next_ = (next_ + 1) % capacity_;
    if (count_ < capacity_) ++count_;
  }
}

void SpanRing::CopyTo(SpanRingCopy* out) const {
  out->spans.clear();
  out->spans.reserve(count_);
  // Oldest first: once full, the oldest is at next_.
  const size_t first = ring_.size() < capacity_ ? 0 : next_;
  for (size_t i = 0; i < ring_.size(); ++i) out->spans.push_back(ring_[(first + i) % ring_.size()]);
  out->names = names_;
}

void SpanRingCopy::ToSpans(TimestampNs from_ns, TimestampNs to_ns,
                           std::vector<ingest::Span>* out) const {
  for (const RingSpan& r : spans) {
    if (r.start_ns >= from_ns && r.start_ns < to_ns) AppendSpan(r, out);
  }
}

void SpanRingCopy::AppendSpan(const RingSpan& r, std::vector<ingest::Span>* out) const {
  ingest::Span& s = out->emplace_back();
  s.trace_id = FormatFingerprint(r.trace);
  s.span_id = FormatFingerprint(r.span);
  if (r.parent != 0) s.parent_span_id = FormatFingerprint(r.parent);
  s.service = names[r.service];
  s.name = names[r.name];
  s.start_ns = r.start_ns;
  s.end_ns = r.end_ns;
}

}  // namespace backsight::traces
