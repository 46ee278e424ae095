// Root-cause ranking of one case (issue 10): which service, and which of its indicators (a
// metric, a log template, an operation), most likely started the incident announced at the case's
// alert time.
//
// Every evidence source compares the window from kLeadS before the alert onwards with a
// baseline (the case's baseline/ files, else the same files before the window) and gives each
// service a strength and its strongest indicator:
//  - metrics: the largest robust z-score (|x - median| / (1.4826 MAD), Hampel 1974) of any of the
//    service's series in the window against its baseline, the scale floored at kRelScaleFloor of
//    the median (so a nearly constant series does not explode on a small move);
//  - logs: per (service, template) (logs/miner.h templates), the signed deviance residual of the
//    window count against the baseline rate (Poisson; McCullagh & Nelder 1989, 2.4.3): new and
//    surging templates, and templates that stopped (an early return skips its log line);
//  - traces: latency attribution of the window's slow traces (traces/attribution.h), the extra
//    self time of each service's spans and client waits.
// A source counts only when its strongest service passes the source's significance threshold
// (the "no cause" rule); each counted source adds its services' strengths divided by its
// strongest (so each source votes with weight 1 for its leader); services are ranked by the sum.
//  - call latency: per call edge of calls.csv, the robust z of the caller-side latency (as for
//    metrics, rises only), credited to the callee (its time plus the network to it);
//  - missing span logs: per operation, an ordinary log line its spans nearly always wrote and
//    many of the window's spans miss (the code now stops before it);
//  - log stop points: per operation and log line, the share of the spans reaching that line that
//    write nothing after it (or, for the span's start, no line at all), against the baseline's;
//  - call structure: per (service, operation), fewer child calls per span than in the baseline
//    (an early return or an exception skips the calls after it), as a Poisson deviance residual;
//    and per (service, operation, child call) more spans now ending right after that call, named
//    to the caller when the callee's call tree is as complete as usual, else to the callee.
//  - quiet callees: the services whose traffic fell to zero, when they share exactly one caller
//    that still has traffic, name that caller (it stopped calling them).
// Traces with a new error template are also read as a spectrum (Ochiai): the service they share,
// deepest first. When no source is significant, two sources whose leaders agree name a cause.
#ifndef BACKSIGHT_INCIDENTS_ROOT_CAUSE_H_
#define BACKSIGHT_INCIDENTS_ROOT_CAUSE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "backsight/incidents/case_data.h"

namespace backsight::incidents {

/// Options of RankRootCauses; the defaults are the one configuration.
struct RcaOptions {
  bool use_metrics = true;  ///< Switches exist for tests and ablation measurements.
  bool use_logs = true;
  bool use_traces = true;
  /// Caller-side latency of each call edge (calls.csv), credited to the callee.
  bool use_calls = true;
  /// Log lines an operation's spans usually write and now miss (needs logs and traces).
  bool use_missing_logs = true;
  /// Log lines after which an operation's spans now stop (needs logs and traces).
  bool use_stop_points = true;
  /// Callees whose traffic stopped name their one common caller that still serves (needs
  /// metrics and a call graph: graph.csv or spans).
  bool use_quiet_callees = true;
  /// A caller ranked above a callee scoring >= half its score gives way ("a callee's fault shows
  /// upstream"). Off: on the visible Nezha cases it lowered AC@1 from 0.551 to 0.500 (a CPU
  /// fault in a caller slows its callees' client spans too; rca_score --graph).
  bool use_graph = false;
  size_t top_k = 5;  ///< Causes returned at most.
};

/// Which source an indicator comes from.
enum class EvidenceKind {
  kMetric,
  kLog,
  kTrace,
  kSpectrum,
  kStructure,
  kCall,
  kMissingLog,
  kStopPoint,
  kQuietCallee
};

/// One ranked cause.
struct Cause {
  std::string service;
  double score = 0;  ///< Sum over the counted sources of strength / source maximum.
  EvidenceKind kind = EvidenceKind::kMetric;
  std::string indicator;    ///< Metric name, log template text, or "operation" latency.
  std::string explanation;  ///< Operator words: what moved, when, by what factor.
};

/// Per-source strengths (for ablation and tests): service -> strength, strongest first.
struct SourceRanking {
  EvidenceKind kind = EvidenceKind::kMetric;
  bool significant = false;  ///< The leader passed the source's threshold (margin >= 1).
  double margin = 0;         ///< The source's statistic over its threshold.
  std::vector<std::pair<std::string, double>> strengths;
};

/// The result of a case.
struct RcaResult {
  std::vector<Cause> causes;  ///< Best first; empty when no source is significant ("no cause").
  std::vector<SourceRanking> sources;
};

/// Ranks the likely root causes of `c`. Never fails: missing files just remove their source.
RcaResult RankRootCauses(const CaseData& c, const RcaOptions& options = {});

}  // namespace backsight::incidents

#endif  // BACKSIGHT_INCIDENTS_ROOT_CAUSE_H_
