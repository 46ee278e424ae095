// `backsight rca CASE_DIR`: the likely root causes of one recorded incident (issue 10), ranked
// by incidents/root_cause.h from a case directory (incidents/case_data.h).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "backsight/cli/commands.h"
#include "backsight/core/number_format.h"
#include "backsight/incidents/case_data.h"
#include "backsight/incidents/root_cause.h"

namespace backsight::cli {
namespace {

struct RcaArgs {
  std::string case_dir;
  int top = 5;
  std::string format = "tsv";
};

const char* KindName(incidents::EvidenceKind k) {
  switch (k) {
    case incidents::EvidenceKind::kMetric:
      return "metric";
    case incidents::EvidenceKind::kLog:
      return "log";
    case incidents::EvidenceKind::kTrace:
      return "trace";
    case incidents::EvidenceKind::kSpectrum:
      return "error_traces";
    case incidents::EvidenceKind::kStructure:
      return "call_structure";
    case incidents::EvidenceKind::kCall:
      return "call_latency";
    case incidents::EvidenceKind::kMissingLog:
      return "missing_log";
    case incidents::EvidenceKind::kStopPoint:
      return "log_stop_point";
    case incidents::EvidenceKind::kQuietCallee:
      return "quiet_callees";
  }
  return "?";
}

// A TSV field: tabs and line ends become spaces (the columns stay aligned).
std::string TsvField(std::string s) {
  for (char& ch : s) {
    if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
  }
  return s;
}

int Run(const RcaArgs& args) {
  if (args.format != "tsv" && args.format != "json" && args.format != "text") {
    std::fprintf(stderr, "backsight rca: --format must be tsv, json or text\n");
    return kExitUsage;
  }
  if (args.top < 1) {
    std::fprintf(stderr, "backsight rca: --top must be at least 1\n");
    return kExitUsage;
  }
  incidents::CaseData c;
  Status st = incidents::LoadCase(args.case_dir, &c);
  if (!st.ok()) {
    std::fprintf(stderr, "backsight rca: %s\n", st.message().c_str());
    return st.code() == Status::Code::kInvalidArgument ? kExitBadInput : kExitIoError;
  }
  incidents::RcaOptions options;
  options.top_k = static_cast<size_t>(args.top);
  const incidents::RcaResult r = incidents::RankRootCauses(c, options);
  std::string out;
  if (args.format == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < r.causes.size(); ++i) {
      const auto& cause = r.causes[i];
      j.push_back({{"rank", i + 1},
                   {"service", cause.service},
                   {"score", cause.score},
                   {"source", KindName(cause.kind)},
                   {"indicator", cause.indicator},
                   {"explanation", cause.explanation}});
    }
    out = nlohmann::json{{"causes", j}}.dump(1) + "\n";
  } else if (args.format == "text") {
    if (r.causes.empty()) out = "no cause: the evidence is weak\n";
    for (size_t i = 0; i < r.causes.size(); ++i) {
      out += std::to_string(i + 1) + ". " + r.causes[i].explanation + " (score " +
             FormatDouble(r.causes[i].score, 3) + ")\n";
    }
  } else {
    out = "rank\tservice\tscore\tindicator\texplanation\n";
    for (size_t i = 0; i < r.causes.size(); ++i) {
      const auto& cause = r.causes[i];
      out += std::to_string(i + 1) + "\t" + TsvField(cause.service) + "\t" +
             FormatDouble(cause.score, 4) + "\t" + TsvField(cause.indicator) + "\t" +
             TsvField(cause.explanation) + "\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace

void RegisterRca(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RcaArgs>();
  auto* cmd =
      app.add_subcommand("rca",
                         "Likely root causes of a recorded incident (a case directory: case.json, "
                         "metrics.csv, spans.csv, logs.csv, graph.csv, calls.csv, baseline/)");
  cmd->add_option("case_dir", args->case_dir, "The case directory")->required();
  cmd->add_option("--top", args->top, "Causes to print at most")->capture_default_str();
  cmd->add_option("--format", args->format, "tsv, json or text")->capture_default_str();
  cmd->footer(
      "TSV columns: rank, service, score, indicator, explanation (best first; no rows when the "
      "evidence is weak). Exit codes: 0 ok, 2 usage error, 3 bad input (file:line named), 4 I/O "
      "error or missing case directory.");
  cmd->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace backsight::cli
