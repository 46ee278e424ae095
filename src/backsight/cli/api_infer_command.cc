// `backsight api infer ACCESS_LOG...`: the HTTP API as access logs show it, as OpenAPI 3.0 YAML.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/analyze/api/conformance.h"
#include "backsight/analyze/api/document.h"
#include "backsight/analyze/api/infer.h"
#include "backsight/analyze/api/infer_openapi.h"
#include "backsight/analyze/api/report.h"
#include "backsight/cli/commands.h"
#include "backsight/cli/log_lines.h"
#include "backsight/cli/span_access_log.h"
#include "backsight/core/file_util.h"
#include "backsight/ingest/otlp_traces.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::cli {
namespace {

// A file of one protobuf ExportTraceServiceRequest (the .pb/.binpb suffixes protobuf tooling and
// the OTLP file exporter's proto encoding use); every other file is read as lines.
bool IsProtobufFile(const std::string& path) {
  return path.ends_with(".pb") || path.ends_with(".binpb");
}

struct ApiInferArgs {
  std::vector<std::string> files;
  std::string format = "auto";
  std::string output = "-";
  std::string title = "Inferred API";
  api::AccessLogOptions log;
  api::InferOptions infer;
  bool strict = false;
  bool quiet = false;
  std::string spec;  // documented API to compare with; empty: none
  std::string report_format = "text";
  std::string fail_on;
};

int RunApiInfer(const ApiInferArgs& a) {
  api::ReportFormat report_format;
  if (!api::ParseReportFormat(a.report_format, &report_format)) {
    std::fprintf(stderr, "backsight api infer: unknown --report-format '%s'\n",
                 a.report_format.c_str());
    return kExitUsage;
  }
  api::Level fail_on = api::Level::kError;
  if (!a.fail_on.empty() && !api::ParseLevel(a.fail_on, &fail_on)) {
    std::fprintf(stderr, "backsight api infer: --fail-on takes error or warning, not '%s'\n",
                 a.fail_on.c_str());
    return kExitUsage;
  }
  if (!a.fail_on.empty() && a.spec.empty()) {
    std::fprintf(stderr, "backsight api infer: --fail-on needs --spec\n");
    return kExitUsage;
  }
  api::Spec documented;
  if (!a.spec.empty()) {
    Status st = api::LoadSpec(a.spec, &documented);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight api infer: %s\n", st.message().c_str());
      return kExitBadInput;  // unreadable or malformed: bad input either way (issue 13)
    }
  }
  api::AccessLogOptions lo = a.log;
  if (a.format == "combined" || a.format == "common") {
    lo.format = api::AccessLogFormat::kCombined;
  } else if (a.format == "json") {
    lo.format = api::AccessLogFormat::kJson;
  }
  api::AccessLogParser parser(lo);
  api::ApiInferrer inferrer(a.infer);
  const bool otlp_only = a.format == "otlp";
  const bool otlp_auto = a.format == "auto";
  uint64_t pb_files = 0;
  api::AccessRecord rec;
  ingest::SpanBatch spans;
  SpanCounts span_counts;
  LogLines input("api infer", a.strict);
  const auto parse_line = [&](const std::string& line) {
    Status st;
    if (otlp_only || (otlp_auto && LooksLikeOtlpTracesLine(line))) {
      spans.Clear();
      st = ingest::DecodeOtlpTracesJson(line, &spans);
      if (st.ok()) AddServerSpans(spans, &inferrer, &span_counts);
    } else {
      st = parser.Parse(line, &rec);
      if (st.ok()) inferrer.Add(rec);
    }
    return st;
  };
  for (const std::string& path : a.files) {
    if (IsProtobufFile(path)) {
      ++pb_files;
      std::string body;
      Status st = ReadFileToString(path, &body);
      if (!st.ok()) {
        std::fprintf(stderr, "backsight api infer: %s\n", st.message().c_str());
        return kExitBadInput;
      }
      spans.Clear();
      st = ingest::DecodeOtlpTracesProto(body, &spans);
      if (!st.ok()) {  // one request per file: a bad one is bad input, --strict or not
        std::fprintf(stderr, "%s: %s\n", path.c_str(), st.message().c_str());
        return kExitBadInput;
      }
      AddServerSpans(spans, &inferrer, &span_counts);
      continue;
    }
    if (const int rc = input.Read(path, parse_line); rc != kExitOk) return rc;
  }
  const uint64_t bad = input.malformed();
  if (input.lines() + pb_files > 0 && inferrer.requests() == 0) {
    if (span_counts.not_server + span_counts.incomplete > 0) {
      std::fprintf(stderr,
                   "backsight api infer: no HTTP server span in the traces (%llu spans of "
                   "another kind, %llu without method, path or status)\n",
                   static_cast<unsigned long long>(span_counts.not_server),
                   static_cast<unsigned long long>(span_counts.incomplete));
    } else {
      std::fprintf(stderr, "backsight api infer: no line parsed as an access-log entry (%s)\n",
                   a.format.c_str());
    }
    return kExitBadInput;
  }
  const api::InferredApi inferred = inferrer.Infer();
  const std::string yaml = api::WriteInferredOpenApi(inferred, a.title);
  if (a.output == "-") {
    // With --spec, stdout carries the report; the document only goes to an -o file.
    if (a.spec.empty()) std::fwrite(yaml.data(), 1, yaml.size(), stdout);
  } else {
    Status st = WriteFileAtomically(a.output, yaml);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight api infer: %s\n", st.message().c_str());
      return kExitIoError;
    }
  }
  if (!a.quiet) {
    std::fprintf(stderr, "%llu requests, %zu operations, %llu lines skipped as malformed\n",
                 static_cast<unsigned long long>(inferrer.requests()), inferred.operations.size(),
                 static_cast<unsigned long long>(bad));
    if (span_counts.used + span_counts.not_server + span_counts.incomplete > 0) {
      std::fprintf(stderr,
                   "spans: %llu HTTP server requests, %llu of another kind ignored, %llu "
                   "without method, path or status ignored\n",
                   static_cast<unsigned long long>(span_counts.used),
                   static_cast<unsigned long long>(span_counts.not_server),
                   static_cast<unsigned long long>(span_counts.incomplete));
    }
  }
  if (a.spec.empty()) return kExitOk;
  std::string served_name = a.files.size() == 1 && a.files[0] != "-" ? a.files[0] : "<logs>";
  if (a.files.size() == 1 && a.files[0] == "-") served_name = "<stdin>";
  const std::vector<api::Change> changes =
      api::CompareServedWithSpec(inferred, documented, served_name);
  const std::string report = api::RenderReport(changes, report_format, fail_on);
  std::fwrite(report.data(), 1, report.size(), stdout);
  return api::FailsAt(changes, !a.fail_on.empty(), fail_on) ? kExitAnomalies : kExitOk;
}

}  // namespace

void RegisterApiInfer(CLI::App& api, int* exit_code) {
  auto args = std::make_shared<ApiInferArgs>();
  CLI::App* cmd = api.add_subcommand(
      "infer",
      "Infer the API as served from access logs (combined/common log format, JSON lines, or "
      "OTLP HTTP server spans: OTLP/JSON lines as the OpenTelemetry Collector's file exporter "
      "writes them, or a .pb file of one protobuf request; gzip read as is) and write it as "
      "OpenAPI 3.0 YAML: path templates, methods, status "
      "codes, query parameters, request rates (x-backsight-rate, requests/s).\nWith --spec: "
      "compare served with documented and print the changes as `api diff` does (undocumented "
      "paths and operations, documented ones never called, statuses the contract does not "
      "allow); the document then goes only to an -o file.\nExit codes: 0 done (no change at "
      "the --fail-on level); 1 a change at or above --fail-on; 2 usage error; 3 bad input (a "
      "log or spec that cannot be read or parsed, --strict on a malformed line); 4 the -o file "
      "cannot be written.");
  cmd->add_option("files", args->files, "access logs or OTLP trace files; - for stdin")->required();
  cmd->add_option("--format,--input-format", args->format,
                  "line format (auto: OTLP when a JSON line's key is resourceSpans, other JSON "
                  "lines as JSON, else combined)")
      ->check(CLI::IsMember({"auto", "combined", "common", "json", "otlp"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "OpenAPI YAML output; - for stdout")
      ->capture_default_str();
  cmd->add_option("--title", args->title, "info.title of the document")->capture_default_str();
  cmd->add_option("--json-method", args->log.json_method,
                  "JSON lines: method field names, first present wins")
      ->capture_default_str();
  cmd->add_option("--json-path", args->log.json_path, "JSON lines: path/URI field names")
      ->capture_default_str();
  cmd->add_option("--json-status", args->log.json_status, "JSON lines: status field names")
      ->capture_default_str();
  cmd->add_option("--json-time", args->log.json_time, "JSON lines: time field names")
      ->capture_default_str();
  cmd->add_option("--min-word-values", args->infer.min_word_values,
                  "distinct non-identifier values sharing a continuation that make a parameter")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--spec", args->spec, "documented API (OpenAPI 3.0/3.1) to compare with");
  cmd->add_option("--report-format", args->report_format,
                  "with --spec: text, json, markdown, junit or github")
      ->check(CLI::IsMember({"text", "json", "markdown", "junit", "github"}))
      ->capture_default_str();
  cmd->add_option("--fail-on", args->fail_on,
                  "with --spec: exit 1 on a change at this level or above")
      ->check(CLI::IsMember({"error", "warning"}));
  cmd->add_flag("--strict", args->strict, "stop with exit 3 at the first malformed line");
  cmd->add_flag("-q,--quiet", args->quiet, "no summary on stderr");
  cmd->callback([args, exit_code] { *exit_code = RunApiInfer(*args); });
}

}  // namespace backsight::cli
