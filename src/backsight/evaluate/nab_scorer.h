// NAB (Numenta Anomaly Benchmark) v1.1 scorer.
//
// Implements the scoring of numenta/NAB (nab/sweeper.py, scorer.py, optimizer.py at ea702d7) as
// written down in shared/data/nab/SCORING.md: anomaly windows as row-index intervals, a
// probationary period of min(floor(0.15 N), 750) rows, scaled-sigmoid per-row weights, one
// threshold per profile for the whole corpus found by an exhaustive sweep over the pooled rows of
// all files (ties go to the higher threshold), and normalisation against the null detector
// (S_null = -A_FN * K) and the perfect detector (S_perfect = A_TP * K), K = number of windows.
#ifndef BACKSIGHT_EVALUATE_NAB_SCORER_H_
#define BACKSIGHT_EVALUATE_NAB_SCORER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::evaluate {

/// One application profile of NAB's config/profiles.json (positive weights; the scorer applies
/// the signs). tnWeight is never used by NAB and is not kept.
struct NabProfile {
  std::string name;  // "standard", "reward_low_FP_rate", "reward_low_FN_rate"
  double tp_weight = 1.0;
  double fp_weight = 0.11;
  double fn_weight = 1.0;
};

/// One data file of the corpus.
struct NabFile {
  /// Key as in labels/combined_windows.json: "<category>/<name>.csv".
  std::string key;
  /// Timestamps of the data rows, in file order (may contain duplicates / go backwards).
  std::vector<TimestampNs> timestamps;
  /// Values of the data rows (what detectors see), same length as `timestamps`.
  std::vector<double> values;
  /// Anomaly windows as [start, end] timestamps, in file order.
  std::vector<std::pair<TimestampNs, TimestampNs>> windows;

  /// "<category>" part of the key.
  std::string Category() const;
  /// "<name>" part of the key (without directory and without ".csv").
  std::string Name() const;
};

/// The whole benchmark: files in combined_windows.json order (sorted by key) and the profiles
/// in config/profiles.json order.
struct NabCorpus {
  std::vector<NabFile> files;
  std::vector<NabProfile> profiles;
  /// Total number of windows in the labels file (K, 116 in v1.1).
  int64_t num_windows = 0;
};

/// Anomaly scores of one detector: results[f][i] is the score of row i of corpus.files[f].
using NabResults = std::vector<std::vector<double>>;

/// Reads a `timestamp,value` CSV (header line required; `\n` or `\r\n` line ends; timestamps in
/// any form backsight::ParseTimestamp accepts). Returns IoError if the file cannot be read and
/// InvalidArgument naming `path:line` and the field for a malformed row.
Status ReadTimestampValueCsv(const std::string& path, std::vector<TimestampNs>* timestamps,
                             std::vector<double>* values);

/// Reads the `anomaly_score` column of a NAB results CSV (header names the columns; other
/// columns are ignored). Errors as ReadTimestampValueCsv; a missing column, a non-finite score
/// or a score outside [0, 1.1) is InvalidArgument naming `path:line`.
Status ReadAnomalyScoreCsv(const std::string& path, std::vector<double>* scores);

/// In-memory forms of the two readers above: parse `text`; `path` only names the source in
/// error messages. Same errors (except IoError).
Status ParseTimestampValueCsv(std::string_view text, const std::string& path,
                              std::vector<TimestampNs>* timestamps, std::vector<double>* values);
Status ParseAnomalyScoreCsv(std::string_view text, const std::string& path,
                            std::vector<double>* scores);

/// Loads a NAB corpus from `nab_dir` (holding data/, labels/combined_windows.json and
/// config/profiles.json). Each window edge must equal a timestamp of its file (else
/// InvalidArgument naming the file and edge). Errors from reading are passed on.
Status LoadNabCorpus(const std::string& nab_dir, NabCorpus* corpus);

/// Loads the published-layout results of one detector for every corpus file:
/// `<detector_dir>/<category>/<detector_name>_<name>.csv`. Each must have exactly as many rows
/// as its data file (else InvalidArgument naming the file and both counts).
Status LoadNabResults(const std::string& detector_dir, std::string_view detector_name,
                      const NabCorpus& corpus, NabResults* results);

/// Diagnostics of one file at the chosen threshold.
struct NabFileScore {
  std::string key;
  int windows_detected = 0;
  int windows_total = 0;  // scorable windows (at least one row after probation)
  int64_t fp_rows = 0;    // detected rows outside windows (after probation)
  double score = 0;       // S_file(threshold), raw, for the profile
};

/// Result for one profile.
struct NabProfileScore {
  std::string profile;
  double threshold = 1.1;                  // theta*: rows with score >= threshold are detections
  double raw_score = 0;                    // S(theta*)
  double null_score = 0;                   // S_null = -A_FN * K
  double perfect_score = 0;                // S_perfect = A_TP * K
  double normalized = 0;                   // 100 (S - S_null) / (S_perfect - S_null)
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;  // row counts after probation
  std::vector<NabFileScore> files;         // per-file breakdown at theta*, corpus order
};

/// Precomputed scoring geometry of a corpus (windows as row intervals, probation, per-row base
/// weights); build once per corpus and reuse for many result sets. Scoring one result set sorts
/// the pooled post-probation rows (~333k for NAB v1.1) once and sweeps once per profile.
class NabScorer {
 public:
  /// Builds from a loaded corpus. InvalidArgument if a window edge is not a timestamp of its
  /// file or windows are unordered / overlapping.
  static Status Create(const NabCorpus& corpus, NabScorer* scorer);

  /// Finds the best threshold for every profile (exhaustive sweep, SCORING.md §4-5) and returns
  /// one NabProfileScore per profile of the corpus, in profile order. `results` must have one
  /// vector per file with the file's row count (else InvalidArgument); NaN scores are
  /// InvalidArgument.
  Status ScoreCorpus(const NabResults& results, std::vector<NabProfileScore>* out) const;

  /// Scores all files at a fixed threshold for profile `profile_index` (SCORING.md §4).
  Status ScoreAtThreshold(const NabResults& results, size_t profile_index, double threshold,
                          NabProfileScore* out) const;

  /// Probationary period (rows) of file `f`.
  int64_t probation(size_t f) const { return files_[f].probation; }

 private:
  struct Window {
    int64_t left = 0, right = 0;  // row indexes, inclusive
  };
  struct FileGeom {
    std::string key;
    int64_t rows = 0;
    int64_t probation = 0;
    std::vector<Window> windows;
    // Per row: window index or -1; base weight (in window: f(y)/f(-1) > 0, multiplied by A_TP;
    // outside: f(y) in [-1, 0), multiplied by A_FP).
    std::vector<int32_t> window_of_row;
    std::vector<double> base_weight;
    int32_t first_window_id = 0;  // global id of windows[0]
  };
  Status CheckResults(const NabResults& results) const;

  std::vector<FileGeom> files_;
  std::vector<NabProfile> profiles_;
  int64_t num_windows_ = 0;       // K (labels file)
  int64_t scorable_windows_ = 0;  // windows with a row after probation
};

}  // namespace backsight::evaluate

#endif  // BACKSIGHT_EVALUATE_NAB_SCORER_H_
