// `backsight security FILE...`: attacking clients in access logs (combined/common, JSON lines)
// and sshd auth logs, judged against the site's own clients (issue 14).
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/cli/commands.h"
#include "backsight/cli/log_lines.h"
#include "backsight/security/analyzer.h"
#include "backsight/security/auth_log.h"
#include "backsight/security/findings_format.h"
#include "backsight/security/request_inspector.h"

namespace backsight::cli {
namespace {

struct SecurityArgs {
  std::vector<std::string> files;
  std::string format = "tsv";
  std::string header = "auto";
  int year = 0;  // RFC 3164 times carry no year; 0 = the current UTC year
  bool no_crs = false;
  bool no_prefilter = false;
  size_t max_clients = security::AnalyzerOptions().max_clients;
  bool strict = false;
  bool quiet = false;
};

int CurrentUtcYear() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return tm.tm_year + 1900;
}

int RunSecurity(const SecurityArgs& a) {
  security::FindingsFormat out_format = security::FindingsFormat::kTsv;
  if (a.format == "json") out_format = security::FindingsFormat::kJson;
  if (a.format == "text") out_format = security::FindingsFormat::kText;
  api::AccessLogOptions lo;
  if (a.header == "combined" || a.header == "common") lo.format = api::AccessLogFormat::kCombined;
  if (a.header == "json") lo.format = api::AccessLogFormat::kJson;
  const bool sshd_only = a.header == "sshd";
  const bool auto_sshd = a.header == "auto";
  const int year = a.year > 0 ? a.year : CurrentUtcYear();

  security::InspectorOptions io;
  io.modsecurity = !a.no_crs;
  io.prefilter = !a.no_prefilter;
  std::unique_ptr<security::RequestInspector> inspector;
  Status st = security::RequestInspector::Create(io, &inspector);
  if (!st.ok()) {
    std::fprintf(stderr, "backsight security: %s (install modsecurity-crs)\n",
                 st.message().c_str());
    return kExitIoError;
  }
  security::AnalyzerOptions ao;
  ao.max_clients = a.max_clients;
  security::SecurityAnalyzer analyzer(ao, inspector.get());
  api::AccessLogParser parser(lo);
  api::AccessRecord rec;
  security::AuthEvent auth;
  uint64_t other_sshd = 0;
  LogLines input("security", a.strict);
  const auto parse_line = [&](const std::string& line) {
    Status line_st;
    if (sshd_only || (auto_sshd && security::LooksLikeSshdLine(line))) {
      bool found = false;
      line_st = security::ParseAuthLine(line, year, &auth, &found);
      if (line_st.ok() && found) analyzer.AddAuth(auth, line);
      if (line_st.ok() && !found) ++other_sshd;
    } else {
      line_st = parser.Parse(line, &rec);
      if (line_st.ok()) analyzer.AddRequest(rec, line);
    }
    return line_st;
  };
  for (const std::string& path : a.files) {
    if (const int rc = input.Read(path, parse_line); rc != kExitOk) return rc;
  }
  const uint64_t bad = input.malformed(), lines = input.lines();
  const std::vector<security::Finding> findings = analyzer.Finish();
  const std::string text = security::FormatFindings(findings, out_format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!a.quiet) {
    const security::AnalyzerStats& s = analyzer.stats();
    const security::InspectorStats& is = inspector->stats();
    std::fprintf(
        stderr,
        "%llu lines: %llu requests, %llu sshd logins, %llu other sshd, %llu malformed; "
        "%llu clients (%llu closed idle, %llu by the client cap, %llu kept for judging); "
        "%zu findings; CRS: "
        "%llu requests past the pre-filter, %llu hits\n",
        static_cast<unsigned long long>(lines), static_cast<unsigned long long>(s.requests),
        static_cast<unsigned long long>(s.auth_events), static_cast<unsigned long long>(other_sshd),
        static_cast<unsigned long long>(bad), static_cast<unsigned long long>(s.clients),
        static_cast<unsigned long long>(s.closed_idle),
        static_cast<unsigned long long>(s.closed_capacity),
        static_cast<unsigned long long>(s.summaries), findings.size(),
        static_cast<unsigned long long>(is.inspected), static_cast<unsigned long long>(is.hits));
  }
  if (lines > 0 && analyzer.stats().requests + analyzer.stats().auth_events == 0) {
    std::fprintf(stderr, "backsight security: no line parsed as an access-log or sshd entry\n");
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace

void RegisterSecurity(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SecurityArgs>();
  CLI::App* cmd = app.add_subcommand(
      "security",
      "Attacking clients in access logs (combined/common log format, JSON lines) and sshd auth "
      "logs: brute_force, credential_stuffing, scanner, injection_probe (OWASP CRS via "
      "ModSecurity), abusive_client; thresholds from the site's own clients. Output: one row "
      "per client and kind, `source_ip start_ts end_ts kind score evidence` (epoch seconds); "
      "nothing when nothing is found.\nExit codes: 0 done; 2 usage error; 3 bad input (an "
      "unreadable file, --strict on a malformed line, no parsable line); 4 the CRS rule set "
      "cannot be loaded.");
  cmd->add_option("files", args->files, "access or auth logs (gzip read as is); - for stdin")
      ->required();
  cmd->add_option("--format", args->format, "output: tsv, json or text")
      ->check(CLI::IsMember({"tsv", "json", "text"}))
      ->capture_default_str();
  cmd->add_option("--header", args->header,
                  "line layout: auto (sshd lines by their tag, JSON by '{', else combined), "
                  "combined, common, json or sshd")
      ->check(CLI::IsMember({"auto", "combined", "common", "json", "sshd"}))
      ->capture_default_str();
  cmd->add_option("--year", args->year, "year of syslog times without one (default: this year)");
  cmd->add_option("--max-clients", args->max_clients,
                  "live client states; beyond it the least recently seen is closed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--no-crs", args->no_crs, "skip ModSecurity/CRS (no injection_probe)");
  cmd->add_flag("--no-prefilter", args->no_prefilter,
                "send every request to ModSecurity, not only those with suspicious bytes");
  cmd->add_flag("--strict", args->strict, "stop with exit 3 at the first malformed line");
  cmd->add_flag("-q,--quiet", args->quiet, "no summary on stderr");
  cmd->callback([args, exit_code] { *exit_code = RunSecurity(*args); });
}

}  // namespace backsight::cli
