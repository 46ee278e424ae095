// `backsight forecast FILE --limit L --tte`: the causal time-to-exhaustion replay, apart from the
// --horizon forecasts in forecast_command.cc (one file per mode of the command).
#ifndef BACKSIGHT_CLI_FORECAST_TTE_H_
#define BACKSIGHT_CLI_FORECAST_TTE_H_

#include <string>

namespace backsight::cli {

/// Arguments of the replay.
struct TteReplayArgs {
  std::string file = "-";    ///< input CSV `timestamp,value` ("-": stdin)
  std::string output = "-";  ///< output file ("-": stdout)
  double limit = 0;          ///< capacity in the value's unit (exhausted at >= limit); finite
  bool interval = false;     ///< also write tte_low_seconds,tte_high_seconds
};

/// Reads `args.file` row by row into a forecast::TteEstimator and writes, per row,
/// `timestamp,value,tte_seconds` (seconds until the series reaches `limit`, from that row and
/// the ones before it; empty when none is foreseen within 14 days). Returns a CLI exit code:
/// 0 ok, 3 bad input (file:line printed), 4 I/O error.
int RunTteReplay(const TteReplayArgs& args);

}  // namespace backsight::cli

#endif  // BACKSIGHT_CLI_FORECAST_TTE_H_
