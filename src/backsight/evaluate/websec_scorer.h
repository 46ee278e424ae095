// Scorer of the websec benchmark (shared/data/websec), the same rules as the reference
// shared/tools/websec_score_ref.py: an attacking client is found when a prediction names its
// address with an interval overlapping [start, end + tol]; kind recall also needs the kind;
// benign addresses named by any prediction are false positives (per 10,000 benign addresses);
// addresses on the `ignore` list count neither way.
#ifndef BACKSIGHT_EVALUATE_WEBSEC_SCORER_H_
#define BACKSIGHT_EVALUATE_WEBSEC_SCORER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::evaluate {

/// One labelled attacking client or one prediction (kind as in the TSV files).
struct WebsecRow {
  std::string ip;
  double start = 0;  // epoch s
  double end = 0;    // epoch s
  std::string kind;
};

/// Figures of one kind (or "overall").
struct WebsecKindScore {
  int labelled = 0, found = 0, kind_found = 0;
  int pred_ips = 0, tp_ips = 0, fp_ips = 0, wrong_kind_ips = 0;
  double recall() const { return labelled ? double(found) / labelled : 0; }
  double kind_recall() const { return labelled ? double(kind_found) / labelled : 0; }
};

struct WebsecScore {
  std::map<std::string, WebsecKindScore> per_kind;  // the five kinds and "other"
  WebsecKindScore overall;
  int benign_ips = 0, benign_flagged = 0, ignored_flagged = 0;
  double fp_per_10k() const { return benign_ips ? benign_flagged * 1e4 / benign_ips : 0; }
  /// Share of the found clients whose kind was right (kind_found / found).
  double kind_accuracy() const {
    return overall.found ? double(overall.kind_found) / overall.found : 0;
  }
};

/// Reads labels.tsv (`source_ip start_ts end_ts kind origin n_requests`, header line; kind
/// `ignore` rows go to *ignore). IoError / InvalidArgument with file:line.
Status ReadWebsecLabels(const std::string& path, std::vector<WebsecRow>* labels,
                        std::set<std::string>* ignore);

/// Scores predictions; `all_ips` = every source address of the access log (for the benign set).
WebsecScore ScoreWebsec(const std::vector<WebsecRow>& labels, const std::set<std::string>& ignore,
                        const std::vector<WebsecRow>& predictions,
                        const std::set<std::string>& all_ips, double tol_s = 600);

}  // namespace backsight::evaluate

#endif  // BACKSIGHT_EVALUATE_WEBSEC_SCORER_H_
