// Log-parsing accuracy metrics of Loghub-2.0 (Jiang et al., "A Large-Scale Evaluation for Log
// Parsing Techniques: How Far Are We?", ISSTA 2024; logpai/loghub-2.0 evaluator), exactly as
// written down in ../shared/data/loghub2k/METRICS.md: GA, PA, FGA and FTA. Rows are aligned by
// position and groups are keyed by template text (not ids).
#ifndef BACKSIGHT_LOGS_PARSE_EVAL_H_
#define BACKSIGHT_LOGS_PARSE_EVAL_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::logs {

/// The four scores, each in [0, 1], plus the counts behind them.
struct ParsingScores {
  double ga = 0;   ///< Grouping accuracy (message level).
  double pa = 0;   ///< Parsing accuracy: share of rows whose template text equals the truth.
  double fga = 0;  ///< F1 of grouping accuracy (template level).
  double fta = 0;  ///< F1 of template accuracy (template level).
  double pga = 0, rga = 0, pta = 0, rta = 0;
  size_t truth_templates = 0;   ///< Distinct ground-truth templates.
  size_t parsed_templates = 0;  ///< Distinct parsed templates.
};

/// Scores `parsed[i]` against `truth[i]`. Returns InvalidArgument when the sizes differ or are 0.
Status EvaluateParsing(const std::vector<std::string>& truth,
                       const std::vector<std::string>& parsed, ParsingScores* out);

/// One Loghub-2k dataset of the benchmark protocol (../shared/data/loghub2k/README.md): its folder
/// name, its header layout (`log_format`) and Drain's published GA, PA, FGA, FTA on it.
struct LoghubDataset {
  const char* name;
  const char* log_format;
  double drain[4];
};

/// The 11 datasets, in the README's order.
std::span<const LoghubDataset> LoghubDatasets();

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_PARSE_EVAL_H_
