// `backsight api diff BASE REVISION`: breaking changes between two OpenAPI documents.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "backsight/analyze/api/differ.h"
#include "backsight/analyze/api/document.h"
#include "backsight/analyze/api/report.h"
#include "backsight/cli/commands.h"
#include "backsight/core/file_util.h"

namespace backsight::cli {
namespace {

struct ApiDiffArgs {
  std::string base, revision;
  std::string format = "text";
  std::string fail_on;
  std::string ignore;
};

int RunApiDiff(const ApiDiffArgs& a) {
  api::ReportFormat format;
  if (!api::ParseReportFormat(a.format, &format)) {
    std::fprintf(stderr, "backsight api diff: unknown --format '%s'\n", a.format.c_str());
    return kExitUsage;
  }
  api::Level fail_on = api::Level::kError;
  if (!a.fail_on.empty() && !api::ParseLevel(a.fail_on, &fail_on)) {
    std::fprintf(stderr, "backsight api diff: --fail-on takes error or warning, not '%s'\n",
                 a.fail_on.c_str());
    return kExitUsage;
  }
  api::IgnoreList ignore;
  if (!a.ignore.empty()) {
    std::string text;
    Status st = ReadFileToString(a.ignore, &text);
    if (st.ok()) st = ignore.Parse(text, a.ignore);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight api diff: %s\n", st.message().c_str());
      return kExitBadInput;  // unreadable or malformed (issue 13)
    }
  }
  api::Spec base, revision;
  for (auto [path, spec] : {std::pair{&a.base, &base}, std::pair{&a.revision, &revision}}) {
    Status st = api::LoadSpec(*path, spec);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight api diff: %s\n", st.message().c_str());
      return kExitBadInput;  // unreadable or malformed (issue 13)
    }
  }
  std::vector<api::Change> changes;
  for (api::Change& c : api::DiffSpecs(base, revision)) {
    if (!ignore.Matches(c)) changes.push_back(std::move(c));
  }
  std::string report = api::RenderReport(changes, format, fail_on);
  std::fwrite(report.data(), 1, report.size(), stdout);
  return api::FailsAt(changes, !a.fail_on.empty(), fail_on) ? kExitAnomalies : kExitOk;
}

}  // namespace

void RegisterApiDiff(CLI::App& api, int* exit_code) {
  CLI::App* api_cmd = &api;
  auto args = std::make_shared<ApiDiffArgs>();
  auto* diff = api_cmd->add_subcommand(
      "diff",
      "Changes from BASE to REVISION (OpenAPI 3.0/3.1, YAML or JSON), each with a rule id, a "
      "level (error = breaking for a client of BASE, warning = possibly breaking, info), the "
      "operation and both locations.\nExit codes: 0 no change at the --fail-on level (or no "
      "--fail-on); 1 a change at or above it; 2 usage error; 3 bad input: a document or ignore "
      "file that cannot be read or parsed, or a $ref that points nowhere.");
  diff->add_option("base", args->base, "Base document")->required();
  diff->add_option("revision", args->revision, "Revision document")->required();
  diff->add_option("--format", args->format, "text, json, markdown, junit or github")
      ->check(CLI::IsMember({"text", "json", "markdown", "junit", "github"}))
      ->capture_default_str();
  diff->add_option("--fail-on", args->fail_on, "Exit 1 on a change at this level or above")
      ->check(CLI::IsMember({"error", "warning"}));
  diff->add_option("--ignore", args->ignore,
                   "File of accepted changes: 'RULE-ID' or 'RULE-ID METHOD /path' per line");
  diff->callback([args, exit_code] { *exit_code = RunApiDiff(*args); });
}

}  // namespace backsight::cli
