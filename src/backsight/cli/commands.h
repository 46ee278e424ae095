// Subcommands of the `backsight` executable. Each Register* adds one CLI11 subcommand whose
// callback stores the exit code in *exit_code. Exit codes (documented in `backsight --help`):
//   0 success, 1 anomalies found when --fail-on-anomaly is given, 2 usage error,
//   3 bad input data (a file/line/field error was printed), 4 I/O or internal error.
#ifndef BACKSIGHT_CLI_COMMANDS_H_
#define BACKSIGHT_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace backsight::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitAnomalies = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBadInput = 3;
inline constexpr int kExitIoError = 4;

/// `backsight detect`: streaming metric anomaly detection over CSV files.
void RegisterDetect(CLI::App& app, int* exit_code);

/// `backsight logs`: online log template mining and log anomalies over files or stdin.
void RegisterLogs(CLI::App& app, int* exit_code);

/// `backsight traces`: RED table, service graph and latency attribution of span files.
void RegisterTraces(CLI::App& app, int* exit_code);

/// `backsight forecast`: forecasts with prediction intervals for the series of a CSV file
/// (--horizon N), or a time-to-exhaustion replay of a usage series (--tte --limit L).
void RegisterForecast(CLI::App& app, int* exit_code);
/// `backsight rca`: ranked root causes of one recorded incident (a case directory).
void RegisterRca(CLI::App& app, int* exit_code);
/// `backsight security`: attacking clients in access and sshd logs (issue 14).
void RegisterSecurity(CLI::App& app, int* exit_code);

/// `backsight serve`: the live service (remote_write/OTLP/scrape in, /metrics, alerts, state).
void RegisterServe(CLI::App& app, int* exit_code);

/// `backsight db advise`: PostgreSQL index advice checked with HypoPG (under a `db` subcommand).
void RegisterDb(CLI::App& app, int* exit_code);

/// `backsight api diff`, added under the given `api` subcommand: breaking changes between two
/// OpenAPI documents (exit 1 with --fail-on when a change at that level is found).
void RegisterApiDiff(CLI::App& api, int* exit_code);
/// `backsight api infer`, added under the given `api` subcommand: the API as access logs show it.
void RegisterApiInfer(CLI::App& api, int* exit_code);

}  // namespace backsight::cli

#endif  // BACKSIGHT_CLI_COMMANDS_H_
