#include "backsight/server/metrics_writer.h"

#include "backsight/core/number_format.h"
#include "backsight/server/alerts.h"

namespace backsight::server {

namespace {

constexpr const char* kNames[4] = {"anomaly_score", "yhat", "yhat_lower", "yhat_upper"};
constexpr const char* kHelp[4] = {
    "Calibrated anomaly score of the input series' last sample: 0 typical, > 1 anomalous.",
    "Expected value of the input series (its units; counters as per-second rate).",
    "Lower bound of the expected band.", "Upper bound of the expected band."};

// Appends an output label set: the series labels with __name__ moved to `metric`. Labels are
// already sorted by name with __name__ first ('_' < letters), so only the renamed ones move.
void AppendOutputLabels(const Labels& in, std::string* out) {
  thread_local Labels tmp;
  tmp = OutputLabels(in);
  AppendLabelSet(tmp, out);
}

}  // namespace

void WriteSeriesMetrics(Engine* engine, std::string* out) {
  // One pass per family so each family's samples are contiguous, as the format requires.
  for (int f = 0; f < 4; ++f) {
    *out += "# HELP ";
    *out += kNames[f];
    *out += ' ';
    *out += kHelp[f];
    *out += "\n# TYPE ";
    *out += kNames[f];
    *out += " gauge\n";
    engine->ForEachSeries([&](const SeriesSnapshot& s) {
      if (!s.has_result || s.result.warming_up) return;
      double v = f == 0   ? s.result.anomaly_score
                 : f == 1 ? s.result.yhat
                 : f == 2 ? s.result.yhat_lower
                          : s.result.yhat_upper;
      *out += kNames[f];
      AppendOutputLabels(*s.labels, out);
      out->push_back(' ');
      AppendDouble(v, out);
      out->push_back('\n');
    });
  }
}

void CollectOutputSeries(Engine* engine, std::vector<TimeSeries>* out) {
  engine->ForEachSeries([&](const SeriesSnapshot& s) {
    if (!s.has_result || s.result.warming_up) return;
    Labels base = OutputLabels(*s.labels);
    const double vals[4] = {s.result.anomaly_score, s.result.yhat, s.result.yhat_lower,
                            s.result.yhat_upper};
    for (int f = 0; f < 4; ++f) {
      TimeSeries ts;
      ts.labels.reserve(base.size() + 1);
      ts.labels.push_back({"__name__", kNames[f]});
      ts.labels.insert(ts.labels.end(), base.begin(), base.end());
      SortLabels(&ts.labels);
      ts.kind = MetricKind::kGauge;
      ts.samples.push_back({s.last_ts, vals[f]});
      out->push_back(std::move(ts));
    }
  });
}

}  // namespace backsight::server
