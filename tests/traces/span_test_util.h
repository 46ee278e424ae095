// Builds spans for the traces tests.
#ifndef BACKSIGHT_TESTS_TRACES_SPAN_TEST_UTIL_H_
#define BACKSIGHT_TESTS_TRACES_SPAN_TEST_UTIL_H_

#include <string>

#include "backsight/ingest/span_batch.h"

namespace backsight::traces {

inline ingest::Span MakeSpan(std::string trace, std::string id, std::string parent,
                             std::string service, std::string name, int64_t start_ms,
                             int64_t end_ms,
                             ingest::SpanStatus status = ingest::SpanStatus::kUnset) {
  ingest::Span s;
  s.trace_id = std::move(trace);
  s.span_id = std::move(id);
  s.parent_span_id = std::move(parent);
  s.service = std::move(service);
  s.name = std::move(name);
  s.start_ns = start_ms * 1'000'000;
  s.end_ns = end_ms * 1'000'000;
  s.status = status;
  return s;
}

}  // namespace backsight::traces

#endif  // BACKSIGHT_TESTS_TRACES_SPAN_TEST_UTIL_H_
