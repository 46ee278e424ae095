// Writes an InferredApi as an OpenAPI 3.0 document (YAML).
#ifndef BACKSIGHT_ANALYZE_API_INFER_OPENAPI_H_
#define BACKSIGHT_ANALYZE_API_INFER_OPENAPI_H_

#include <string>

#include "backsight/analyze/api/infer.h"

namespace backsight::api {

/// OpenAPI 3.0.3 YAML for `api` (spec.openapis.org/oas/v3.0.3): one path item per template with
/// its path parameters (typed: integer; string with format uuid, date, date-time, email; plain
/// string), one operation per method with its query parameters (`required` when every request
/// carried it) and one response per observed status code. Extensions: `x-backsight-requests`
/// (count) on the document, operations, parameters and responses, `x-backsight-rate` (requests
/// per second over the log's time span, absent when the log has no times) on operations,
/// `x-backsight-distinct-values` and `x-backsight-kind` (infer_segment.h) on path parameters.
std::string WriteInferredOpenApi(const InferredApi& api, const std::string& title);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_INFER_OPENAPI_H_
