#include "backsight/db/regression_watch.h"

#include <algorithm>
#include <cmath>

namespace backsight::db {
namespace {

// Factor from the median absolute deviation to a normal standard deviation (1 / Phi^-1(3/4)).
constexpr double kMadToSigma = 1.4826;
constexpr double kNsPerSecond = 1e9;

double Median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  return (hi + *std::max_element(v.begin(), v.begin() + mid)) / 2;
}

}  // namespace

bool RegressionWatch::Judge(State* s, const StatementSample& sample, Regression* out) const {
  if (sample.calls < rule_.min_calls) return false;
  bool regressed = false;
  if (s->history.size() >= rule_.min_history) {
    std::vector<double> h(s->history.begin(), s->history.end());
    const double median = Median(h);
    for (double& x : h) x = std::fabs(x - median);
    const double spread = kMadToSigma * Median(h);
    regressed = sample.mean_ms >= rule_.min_factor * median &&
                sample.mean_ms - median >= rule_.min_increase_ms &&
                sample.mean_ms > median + rule_.mad_multiplier * spread;
    if (regressed) {
      out->fingerprint = sample.fingerprint;
      out->mean_ms = sample.mean_ms;
      out->baseline_ms = median;
      out->factor = median > 0 ? sample.mean_ms / median : INFINITY;
    }
  }
  if (regressed) {
    out->first = s->regressed_run == 0;
    if (out->first) s->since = sample.at - static_cast<TimestampNs>(sample.seconds * kNsPerSecond);
    out->since = s->since;
    if (++s->regressed_run < rule_.accept_after) return true;
    s->history.clear();  // accepted as the new normal: the episode ends here
  }
  s->regressed_run = 0;
  s->history.push_back(sample.mean_ms);
  while (s->history.size() > rule_.history) s->history.pop_front();
  return false;
}

void RegressionWatch::Observe(const StatSnapshot& snap, std::vector<StatementSample>* samples,
                              std::vector<Regression>* regressions) {
  const double seconds = started_ ? (snap.taken_at - last_at_) / kNsPerSecond : 0;
  for (const auto& [fp, cur] : snap.statements) {
    auto [it, inserted] = states_.try_emplace(fp);
    State& s = it->second;
    // A fingerprint new since the previous snapshot ran only in between: it starts from zero.
    const StatementCounters prev = inserted ? StatementCounters{} : s.last;
    s.last = cur;
    if (!started_ || seconds <= 0) continue;
    const double calls = cur.calls - prev.calls;
    const double total = cur.total_exec_ms - prev.total_exec_ms;
    if (calls < 0 || total < 0) continue;  // statistics reset: start afresh from this snapshot
    if (calls == 0) continue;
    StatementSample sample;
    sample.fingerprint = fp;
    sample.at = snap.taken_at;
    sample.seconds = seconds;
    sample.calls = calls;
    sample.calls_per_second = calls / seconds;
    sample.total_ms = total;
    sample.mean_ms = total / calls;
    sample.rows_per_call = std::max(0.0, cur.rows - prev.rows) / calls;
    sample.blocks_read_per_call =
        std::max(0.0, cur.shared_blks_read - prev.shared_blks_read) / calls;
    samples->push_back(sample);
    Regression r;
    if (Judge(&s, sample, &r)) regressions->push_back(r);
  }
  // Fingerprints evicted from pg_stat_statements (or reset away) are forgotten.
  std::erase_if(states_, [&](const auto& kv) { return !snap.statements.count(kv.first); });
  last_at_ = snap.taken_at;
  started_ = true;
}

}  // namespace backsight::db
