// The `backsight` executable: a thin layer over the library, one subcommand per capability.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "backsight/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Backsight: learns what normal looks like in metrics, logs and traces and reports what is "
      "abnormal.\n\nExit codes: 0 ok; 1 anomalies found (only with --fail-on-anomaly); 2 usage "
      "error; 3 bad input data; 4 I/O or internal error."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "backsight 0.1.0");
  int exit_code = backsight::cli::kExitOk;
  backsight::cli::RegisterDetect(app, &exit_code);
  backsight::cli::RegisterLogs(app, &exit_code);
  backsight::cli::RegisterTraces(app, &exit_code);
  backsight::cli::RegisterForecast(app, &exit_code);
  backsight::cli::RegisterRca(app, &exit_code);
  backsight::cli::RegisterSecurity(app, &exit_code);
  backsight::cli::RegisterServe(app, &exit_code);
  backsight::cli::RegisterDb(app, &exit_code);
  CLI::App* api = app.add_subcommand(
      "api",
      "HTTP API contracts: breaking changes between OpenAPI documents (diff), the API as "
      "access logs show it (infer).");
  api->require_subcommand(1);
  backsight::cli::RegisterApiDiff(*api, &exit_code);
  backsight::cli::RegisterApiInfer(*api, &exit_code);
  // A first word that is no option and no subcommand is most likely a typo: say so plainly
  // (CLI11 would say only that a subcommand is required).
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](const CLI::App* sub) { return sub->check_name(argv[1]); }).empty()) {
    std::fprintf(stderr, "backsight: unknown subcommand '%s'; see backsight --help\n", argv[1]);
    return backsight::cli::kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : backsight::cli::kExitUsage;
  }
  return exit_code;
}
