#include "backsight/analyze/api/infer_openapi.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <string>

#include "backsight/core/time.h"

namespace backsight::api {
namespace {

// Significant digits of rates: more would only show sampling noise.
constexpr int kRateDigits = 4;

// `schema:` for a parameter whose values are of `kind`.
void EmitSchema(YAML::Emitter& y, SegmentKind kind) {
  y << YAML::Key << "schema" << YAML::Value << YAML::BeginMap;
  switch (kind) {
    case SegmentKind::kInteger:
      y << YAML::Key << "type" << YAML::Value << "integer";
      break;
    case SegmentKind::kBoolean:
      y << YAML::Key << "type" << YAML::Value << "boolean";
      break;
    case SegmentKind::kUuid:
      y << YAML::Key << "type" << YAML::Value << "string";
      y << YAML::Key << "format" << YAML::Value << "uuid";
      break;
    case SegmentKind::kDate:
      y << YAML::Key << "type" << YAML::Value << "string";
      y << YAML::Key << "format" << YAML::Value << "date";
      break;
    case SegmentKind::kEmail:
      y << YAML::Key << "type" << YAML::Value << "string";
      y << YAML::Key << "format" << YAML::Value << "email";
      break;
    default:
      y << YAML::Key << "type" << YAML::Value << "string";
      break;
  }
  y << YAML::EndMap;
}

}  // namespace

std::string WriteInferredOpenApi(const InferredApi& api, const std::string& title) {
  YAML::Emitter y;
  y.SetDoublePrecision(kRateDigits);
  y << YAML::BeginMap;
  y << YAML::Key << "openapi" << YAML::Value << "3.0.3";
  y << YAML::Key << "info" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "title" << YAML::Value << title;
  y << YAML::Key << "version" << YAML::Value << "observed";
  std::string desc =
      "Inferred by backsight api infer from " + std::to_string(api.requests) + " requests";
  if (api.first_time_ns >= 0) {
    desc +=
        " between " + FormatRfc3339(api.first_time_ns) + " and " + FormatRfc3339(api.last_time_ns);
  }
  y << YAML::Key << "description" << YAML::Value << desc + ".";
  y << YAML::EndMap;
  y << YAML::Key << "x-backsight-requests" << YAML::Value << api.requests;
  y << YAML::Key << "paths" << YAML::Value << YAML::BeginMap;
  size_t i = 0;
  while (i < api.operations.size()) {
    const std::string& path = api.operations[i].path;
    y << YAML::Key << path << YAML::Value << YAML::BeginMap;
    if (!api.operations[i].parameters.empty()) {
      y << YAML::Key << "parameters" << YAML::Value << YAML::BeginSeq;
      for (const InferredParameter& p : api.operations[i].parameters) {
        y << YAML::BeginMap;
        y << YAML::Key << "name" << YAML::Value << p.name;
        y << YAML::Key << "in" << YAML::Value << "path";
        y << YAML::Key << "required" << YAML::Value << true;
        EmitSchema(y, p.kind);
        y << YAML::Key << "x-backsight-kind" << YAML::Value << SegmentKindName(p.kind);
        y << YAML::Key << "x-backsight-distinct-values" << YAML::Value << p.distinct_values;
        y << YAML::EndMap;
      }
      y << YAML::EndSeq;
    }
    for (; i < api.operations.size() && api.operations[i].path == path; ++i) {
      const InferredOperation& op = api.operations[i];
      std::string method = op.method;
      for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      y << YAML::Key << method << YAML::Value << YAML::BeginMap;
      y << YAML::Key << "x-backsight-requests" << YAML::Value << op.requests;
      if (op.rate_per_second >= 0) {
        y << YAML::Key << "x-backsight-rate" << YAML::Value << op.rate_per_second;
      }
      if (!op.query.empty()) {
        y << YAML::Key << "parameters" << YAML::Value << YAML::BeginSeq;
        for (const InferredQueryParameter& q : op.query) {
          y << YAML::BeginMap;
          y << YAML::Key << "name" << YAML::Value << q.name;
          y << YAML::Key << "in" << YAML::Value << "query";
          y << YAML::Key << "required" << YAML::Value << q.required;
          EmitSchema(y, SegmentKind::kWord);
          y << YAML::Key << "x-backsight-requests" << YAML::Value << q.requests;
          y << YAML::EndMap;
        }
        y << YAML::EndSeq;
      }
      y << YAML::Key << "responses" << YAML::Value << YAML::BeginMap;
      for (const auto& [code, n] : op.status_counts) {
        y << YAML::Key << YAML::SingleQuoted << std::to_string(code) << YAML::Value
          << YAML::BeginMap;
        y << YAML::Key << "description" << YAML::Value
          << "observed " + std::to_string(n) + " times";
        y << YAML::Key << "x-backsight-requests" << YAML::Value << n;
        y << YAML::EndMap;
      }
      y << YAML::EndMap;
      y << YAML::EndMap;
    }
    y << YAML::EndMap;
  }
  y << YAML::EndMap;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace backsight::api
