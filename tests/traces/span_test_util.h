// Builds spans for the traces tests.
#ifndef BACKSIGHT_TESTS_TRACES_SPAN_TEST_UTIL_H_
#define BACKSIGHT_TESTS_TRACES_SPAN_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

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

/// One request of `frontend` calling four callees ("ads", "cart", "catalog", "shipping") through
/// client stubs, one after another, as trace "f<i>" starting at i * 10 s; `wait_ms[k]` is the
/// client-side time around callee k's 3 ms server span.
inline void AddFanOut(std::vector<ingest::Span>* out, int i, const int64_t (&wait_ms)[4]) {
  static const char* const kCallees[4] = {"ads", "cart", "catalog", "shipping"};
  std::string t = "f";
  t += std::to_string(i);
  int64_t at = i * 10000;
  const int64_t t0 = at;
  for (int k = 0; k < 4; ++k) {
    const std::string stub = std::string("stub") + kCallees[k];
    out->push_back(MakeSpan(t, stub, "root", "frontend", std::string(kCallees[k]) + "/Get", at + 1,
                            at + 1 + 3 + wait_ms[k]));
    out->push_back(MakeSpan(t, std::string("srv") + kCallees[k], stub, kCallees[k],
                            std::string(kCallees[k]) + "/Get", at + 1 + wait_ms[k] / 2,
                            at + 1 + wait_ms[k] / 2 + 3));
    at += 1 + 3 + wait_ms[k];
  }
  out->push_back(MakeSpan(t, "root", "", "frontend", "GET /", t0, at + 1));
}

}  // namespace backsight::traces

#endif  // BACKSIGHT_TESTS_TRACES_SPAN_TEST_UTIL_H_
