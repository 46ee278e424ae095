// Fuzzes the access-log parsers (combined/common, JSON lines) and the API templater: every line
// is parsed in each format, parsed records go into an ApiInferrer, and the inferred API is
// written as OpenAPI. Input: log lines separated by '\n'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/analyze/api/access_log.h"
#include "backsight/analyze/api/infer.h"
#include "backsight/analyze/api/infer_openapi.h"
#include "fuzz_util.h"

using namespace backsight::api;

static int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  AccessLogOptions combined, json;
  combined.format = AccessLogFormat::kCombined;
  json.format = AccessLogFormat::kJson;
  AccessLogParser parsers[] = {AccessLogParser(), AccessLogParser(combined), AccessLogParser(json)};
  InferOptions io;
  io.min_word_values = 3;  // reach the cardinality path with small inputs
  ApiInferrer inferrer(io);
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t e = in.find('\n', pos);
    if (e == std::string_view::npos) e = in.size();
    std::string_view line = in.substr(pos, e - pos);
    for (AccessLogParser& p : parsers) {
      AccessRecord r;
      if (p.Parse(line, &r).ok()) {
        if (r.status < 100 || r.status > 599 || r.path.empty() || r.path[0] != '/') {
          __builtin_trap();  // the parser's contract
        }
        inferrer.Add(r);
      }
    }
    pos = e + 1;
  }
  InferredApi api = inferrer.Infer();
  uint64_t total = 0;
  for (const InferredOperation& op : api.operations) total += op.requests;
  if (total != inferrer.requests()) __builtin_trap();  // every request lands in one operation
  (void)WriteInferredOpenApi(api, "fuzz");
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
