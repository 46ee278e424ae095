// `backsight traces FILE...`: the RED table, the service graph and the latency attribution of
// span files (OTLP JSON lines or span CSV, plain or gzip).
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "backsight/cli/commands.h"
#include "backsight/core/file_util.h"
#include "backsight/traces/attribution.h"
#include "backsight/traces/findings.h"
#include "backsight/traces/red_aggregator.h"
#include "backsight/traces/service_graph.h"
#include "backsight/traces/span_file.h"

namespace backsight::cli {
namespace {

struct TracesArgs {
  std::vector<std::string> files;
  std::vector<std::string> baseline;
  std::string format = "text";
  std::string prometheus;
  double window_seconds = 60;
  int top = 10;
};

constexpr double kNsPerSecond = 1e9;

// Reads `paths` into `*out`; prints the error and returns its exit code, or kExitOk.
int ReadAll(const std::vector<std::string>& paths, ingest::SpanBatch* out) {
  for (const auto& p : paths) {
    Status st = traces::ReadSpanFile(p, out);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight traces: %s\n", st.message().c_str());
      return st.code() == Status::Code::kIoError ? kExitIoError : kExitBadInput;
    }
  }
  return kExitOk;
}

int Run(const TracesArgs& args) {
  signal(SIGPIPE, SIG_IGN);
  if (args.format != "text" && args.format != "json") {
    std::fprintf(stderr, "backsight traces: --format must be text or json\n");
    return kExitUsage;
  }
  ingest::SpanBatch spans, base;
  if (int rc = ReadAll(args.files, &spans); rc != kExitOk) return rc;
  if (int rc = ReadAll(args.baseline, &base); rc != kExitOk) return rc;
  traces::RedAggregator red;
  traces::ServiceGraph graph;
  traces::FindingsDetector findings_detector;
  // The service graph pairs spans in time order, as they would arrive live.
  std::vector<const ingest::Span*> order;
  for (const auto& s : spans.spans) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const ingest::Span* a, const ingest::Span* b) {
    return a->end_ns < b->end_ns;
  });
  for (const auto* s : order) {
    red.Add(*s);
    graph.Add(*s);
    findings_detector.Add(*s);
  }
  findings_detector.Flush();
  const auto findings = findings_detector.Findings();
  // Attribution: the given baseline, else the spans before the last --window seconds.
  std::vector<ingest::Span> window;
  if (base.spans.empty() && !spans.spans.empty()) {
    int64_t last = INT64_MIN;
    for (const auto& s : spans.spans) last = std::max(last, s.start_ns);
    const auto cut = last - static_cast<int64_t>(args.window_seconds * kNsPerSecond);
    // Whole traces go to one side, by their earliest span start.
    std::unordered_map<std::string, int64_t> trace_start;
    for (const auto& s : spans.spans) {
      auto [it, fresh] = trace_start.try_emplace(s.trace_id, s.start_ns);
      if (!fresh) it->second = std::min(it->second, s.start_ns);
    }
    for (const auto& s : spans.spans) {
      (trace_start[s.trace_id] < cut ? base.spans : window).push_back(s);
    }
  } else {
    window = spans.spans;
  }
  const traces::Attribution attr =
      base.spans.empty() ? traces::Attribution() : traces::AttributeLatency(base.spans, window);
  if (!args.prometheus.empty()) {
    std::string text;
    red.WritePrometheus(&text);
    graph.WritePrometheus(&text);
    Status st = WriteFileAtomically(args.prometheus, text);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight traces: %s\n", st.message().c_str());
      return kExitIoError;
    }
  }
  const auto rows = red.Rows();
  const auto edges = graph.Edges();
  const size_t top = args.top > 0 ? static_cast<size_t>(args.top) : SIZE_MAX;
  if (args.format == "json") {
    nlohmann::json j;
    j["spans"] = spans.spans.size();
    j["red"] = nlohmann::json::array();
    for (const auto& r : rows) {
      j["red"].push_back({{"service", r.service},
                          {"operation", r.operation},
                          {"calls", r.calls},
                          {"errors", r.errors},
                          {"rate_per_s", r.rate_per_s},
                          {"p50_ms", r.p50_ms},
                          {"p90_ms", r.p90_ms},
                          {"p99_ms", r.p99_ms}});
    }
    j["service_graph"] = nlohmann::json::array();
    for (const auto* e : edges) {
      j["service_graph"].push_back({{"client", e->client},
                                    {"server", e->server},
                                    {"requests", e->requests},
                                    {"failed", e->failed},
                                    {"server_p99_ms", e->server_latency.Quantile(0.99) / 1e6}});
    }
    j["unpaired_spans_dropped"] = graph.dropped_unpaired();
    nlohmann::json a;
    a["baseline_traces"] = attr.baseline_traces;
    a["window_traces"] = attr.window_traces;
    a["slow_traces"] = attr.slow_traces;
    a["entries"] = nlohmann::json::array();
    for (size_t i = 0; i < attr.entries.size() && i < top; ++i) {
      const auto& e = attr.entries[i];
      a["entries"].push_back({{"service", e.service},
                              {"operation", e.operation},
                              {"baseline_p99_ms", e.baseline_p99_ms},
                              {"window_p99_ms", e.window_p99_ms},
                              {"baseline_traces", e.baseline_traces},
                              {"window_traces", e.window_traces}});
    }
    a["spans"] = nlohmann::json::array();
    for (size_t i = 0; i < attr.rows.size() && i < top; ++i) {
      const auto& r = attr.rows[i];
      a["spans"].push_back({{"service", r.service},
                            {"operation", r.operation},
                            {"calls_service", r.peer_service},
                            {"normal_self_ms", r.normal_self_ms},
                            {"slow_self_ms", r.slow_self_ms},
                            {"share", r.share},
                            {"example_trace_id", r.example_trace_id}});
    }
    a["suspects"] = nlohmann::json::array();
    for (size_t i = 0; i < attr.suspects.size() && i < top; ++i) {
      const auto& su = attr.suspects[i];
      a["suspects"].push_back({{"service", su.service},
                               {"score", su.score},
                               {"callees", su.callees},
                               {"slow_callees", su.slow_callees},
                               {"callers", su.callers},
                               {"slow_callers", su.slow_callers}});
    }
    j["latency_attribution"] = std::move(a);
    j["findings"] = nlohmann::json::array();
    for (size_t i = 0; i < findings.size() && i < top; ++i) {
      const auto& f = findings[i];
      j["findings"].push_back({{"kind", f.kind},
                               {"service", f.service},
                               {"operation", f.operation},
                               {"score", f.score},
                               {"example_trace_id", f.example_trace_id},
                               {"explanation", f.explanation}});
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%zu spans\n\nRED (per service and operation)\n", spans.spans.size());
    std::printf("%-28s %-40s %8s %7s %9s %9s %9s %9s\n", "service", "operation", "calls", "errors",
                "rate/s", "p50_ms", "p90_ms", "p99_ms");
    for (const auto& r : rows) {
      std::printf("%-28s %-40s %8llu %7llu %9.3f %9.2f %9.2f %9.2f\n", r.service.c_str(),
                  r.operation.c_str(), static_cast<unsigned long long>(r.calls),
                  static_cast<unsigned long long>(r.errors), r.rate_per_s, r.p50_ms, r.p90_ms,
                  r.p99_ms);
    }
    std::printf("\nService graph (client -> server)\n");
    for (const auto* e : edges) {
      std::printf(
          "%-28s -> %-28s %8llu requests %6llu failed  server p99 %.2f ms\n", e->client.c_str(),
          e->server.c_str(), static_cast<unsigned long long>(e->requests),
          static_cast<unsigned long long>(e->failed), e->server_latency.Quantile(0.99) / 1e6);
    }
    std::printf("unpaired spans dropped: %llu\n",
                static_cast<unsigned long long>(graph.dropped_unpaired()));
    std::printf("\nLatency attribution (%zu baseline traces, %zu window traces, %zu slow)\n",
                attr.baseline_traces, attr.window_traces, attr.slow_traces);
    for (size_t i = 0; i < attr.entries.size() && i < top; ++i) {
      const auto& e = attr.entries[i];
      std::printf("  entry %s %s: p99 %.2f ms -> %.2f ms\n", e.service.c_str(), e.operation.c_str(),
                  e.baseline_p99_ms, e.window_p99_ms);
    }
    for (size_t i = 0; i < attr.rows.size() && i < top; ++i) {
      const auto& r = attr.rows[i];
      std::printf("  %5.1f%%  %s %s%s%s: self %.2f -> %.2f ms per slow trace (e.g. trace %s)\n",
                  100 * r.share, r.service.c_str(), r.operation.c_str(),
                  r.peer_service.empty() ? "" : ", waiting on ", r.peer_service.c_str(),
                  r.normal_self_ms, r.slow_self_ms, r.example_trace_id.c_str());
    }
    if (!attr.suspects.empty()) {
      std::printf("  suspect services:");
      for (size_t i = 0; i < attr.suspects.size() && i < 5; ++i) {
        std::printf(" %s", attr.suspects[i].service.c_str());
      }
      std::printf("\n");
    }
    std::printf("\nFindings (%zu)\n", findings.size());
    for (size_t i = 0; i < findings.size() && i < top; ++i) {
      const auto& f = findings[i];
      std::printf("  %-12s score %6.2f  %s %s: %s (e.g. trace %s)\n", f.kind.c_str(), f.score,
                  f.service.c_str(), f.operation.c_str(), f.explanation.c_str(),
                  f.example_trace_id.c_str());
    }
  }
  return std::ferror(stdout) ? kExitIoError : kExitOk;
}

constexpr const char* kFooter = R"(
Input: span files, plain or gzip: OTLP JSON lines (one ExportTraceServiceRequest per line, the
OpenTelemetry Collector file exporter's output) or span CSV with the header
trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,end_unix_nano,status
(Nezha's trace CSV header is read too).

Output: RED per service and operation (calls, errors, rate, p50/p90/p99), the service graph
(client -> server edges from parent/child spans across services) and the latency attribution:
slow traces of the window (above the baseline's p90 of their entry operation) against the
baseline's, per span by self time; a client span whose children are all in one other service
is reported as waiting on that service. Baseline: --baseline files, else the spans before the
last --window seconds. --prometheus FILE writes the spanmetrics and servicegraph connector series.
Findings: n_plus_one (>= 5 mostly sequential calls of one normalised db statement or one
downstream operation under one parent span), retry_storm (>= 3 calls of one operation after a
failed call under one parent), scored as the worst count per parent over the median count of
all parents calling that operation, and error_cascade (an erring span with no erring
descendant whose error shows in ancestors of other services within 10 s), scored as the most
upstream services one error reached over the median of the operation's errors; --top limits
them too.

Exit codes: 0 ok; 2 usage error; 3 bad input data ('file:line: reason'); 4 I/O error.)";

}  // namespace

void RegisterTraces(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TracesArgs>();
  auto* cmd = app.add_subcommand(
      "traces", "RED metrics, service graph, latency attribution and findings from span files");
  cmd->add_option("files", args->files, "Span files (OTLP JSON lines or span CSV; gzip or plain)")
      ->required();
  cmd->add_option("--baseline", args->baseline, "Span files of a normal period (attribution)");
  cmd->add_option("--window", args->window_seconds,
                  "Without --baseline: the last WINDOW seconds are compared with the rest")
      ->capture_default_str();
  cmd->add_option("--format", args->format, "Output format: text or json")->capture_default_str();
  cmd->add_option("--top", args->top, "Attribution rows and findings to print (0: all)")
      ->capture_default_str();
  cmd->add_option("--prometheus", args->prometheus,
                  "Write the span metrics and service graph series to FILE (text format)");
  cmd->footer(kFooter);
  cmd->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace backsight::cli
