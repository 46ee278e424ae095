// PLACEHOLDER: `backsight detect` (being written).
#include "backsight/cli/commands.h"

namespace backsight::cli {

void RegisterDetect(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("detect", "Score metric series (CSV timestamp,value) for anomalies");
  cmd->callback([exit_code] { *exit_code = kExitOk; });
}

}  // namespace backsight::cli
