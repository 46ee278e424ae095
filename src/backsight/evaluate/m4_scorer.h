// M4 competition scoring: the wide data layout, the Naive2 benchmark, sMAPE, MASE and OWA.
#ifndef BACKSIGHT_EVALUATE_M4_SCORER_H_
#define BACKSIGHT_EVALUATE_M4_SCORER_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::evaluate {

/// One row of an M4 wide file: the id and its values (trailing empty cells dropped).
struct M4Series {
  std::string id;
  std::vector<double> values;
};

/// Reads the M4 wide layout (header row, then `id,v1,v2,...`, rows right-padded with empty cells;
/// ids and values may be double-quoted). Errors: InvalidArgument "line L: ..." for a bad number or
/// an empty cell before the last value.
Status ReadM4Wide(std::string_view text, std::vector<M4Series>* out);

/// The 90 % autocorrelation test at lag m of the M4 organisers' Naive2 (README of
/// shared/data/m4_hourly): n >= 3m, m <= floor(10 log10 n), |r_m| > 1.645 sqrt((1 + 2 sum_{k<m}
/// r_k^2) / n).
bool M4SeasonalityTest(std::span<const double> x, int m);

/// Naive2 forecasts of `h` steps: the last value of x seasonally adjusted by the classical
/// multiplicative decomposition (R stats::decompose) when M4SeasonalityTest holds, re-seasonalised.
std::vector<double> M4Naive2(std::span<const double> x, int m, int h);

/// sMAPE of one series in percent: mean of 200 |y - f| / (|y| + |f|) (0 when both are 0).
double M4Smape(std::span<const double> y, std::span<const double> f);

/// MASE of one series: mean |y - f| over the in-sample mean |x_t - x_{t-m}|.
double M4Mase(std::span<const double> x, std::span<const double> y, std::span<const double> f,
              int m);

/// Means over series and the OWA against Naive2 (ratio of the means, as M4 did).
struct M4Score {
  double smape = 0;
  double mase = 0;
  double naive2_smape = 0;
  double naive2_mase = 0;
  double owa = 0;
  int series = 0;
};

/// Scores forecasts `f[i]` of series i against actuals `y[i]` given in-sample `x[i]`, season `m`.
/// Exactly the organisers' "Benchmarks and Evaluation.R" as described in the data README (checked
/// against shared/tools/m4_score_ref.py). All three vectors have one entry per series.
M4Score ScoreM4(const std::vector<std::vector<double>>& x,
                const std::vector<std::vector<double>>& y,
                const std::vector<std::vector<double>>& f, int m);

}  // namespace backsight::evaluate

#endif  // BACKSIGHT_EVALUATE_M4_SCORER_H_
