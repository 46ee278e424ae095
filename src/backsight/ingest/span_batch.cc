#include "backsight/ingest/span_batch.h"

#include <utility>

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

void SpanBatch::Recycle() {
  dropped_attributes = 0;
  // Merge the smaller set into the larger (a swap costs no move), then make it the spare set.
  if (spans.size() < spare_.size()) spans.swap(spare_);
  for (Span& s : spare_) {
    if (spans.size() >= kMaxRecycledSpans) break;
    spans.push_back(std::move(s));
  }
  spare_.clear();
  if (spans.size() > kMaxRecycledSpans) spans.resize(kMaxRecycledSpans);
  spans.swap(spare_);
}

Span& SpanBatch::AppendSpare() {
  if (spare_.empty()) return spans.emplace_back();
  spans.push_back(std::move(spare_.back()));
  spare_.pop_back();
  return spans.back();
}

void SpanBatch::SpareFrom(size_t keep) {
  if (keep == 0 && spare_.empty()) {  // all of them (a failed fill of an empty batch): no move
    spans.swap(spare_);
    if (spare_.size() > kMaxRecycledSpans) spare_.resize(kMaxRecycledSpans);
    return;
  }
  for (size_t i = keep; i < spans.size() && spare_.size() < kMaxRecycledSpans; ++i) {
    spare_.push_back(std::move(spans[i]));
  }
  spans.resize(keep);
}

SpanBatch::Fill::Fill(SpanBatch* batch) : batch_(batch), begin_(batch->spans.size()) {
  // An empty batch takes its spare spans as they lie: NewSpan then overwrites them in place.
  if (begin_ == 0) batch_->spans.swap(batch_->spare_);
  end_ = begin_;
}

SpanBatch::Fill::~Fill() {
  if (!done_) batch_->SpareFrom(begin_);
}

void SpanBatch::Fill::Commit() {
  batch_->SpareFrom(end_);
  done_ = true;
}

bool IsKeptSpanAttribute(std::string_view key) {
  return key.starts_with("db.") || key.starts_with("http.") || key.starts_with("url.") ||
         key.starts_with("rpc.");
}

}  // namespace backsight::ingest
