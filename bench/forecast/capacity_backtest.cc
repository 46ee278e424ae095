// Capacity backtest (issue 11, "Capacity advice"): replays demand series minute by minute and
// compares the replicas advised from the demand forecast (forecast/capacity.h) with the
// Kubernetes HorizontalPodAutoscaler rule, which scales on the current value.
//
//   capacity_backtest [--data DIR] [--series N] [--startup MIN] [--horizon H] [--noise SD]
//
// Demand: the M4 Hourly training series (DIR/train.csv), each scaled to a mean of 1,000
// requests/s, linearly interpolated to minutes, times a lognormal minute-level noise of
// sd --noise (seeded per series). The first 14 days fit the forecaster; the rest is replayed.
// Every method serves per_replica = 100 requests/s per ready replica; a new replica is ready
// --startup minutes after it is requested; removals are immediate.
//   hpa:           desired = ceil(current * currentValue / target) on the previous minute's demand
//                  (the metrics-server resolution is 60 s), skipped while |ratio - 1| <= 0.1 (the
//                  HPA tolerance), scale-down to the highest desired of the last 5 minutes (the
//                  default scale-down stabilisation window); target utilisation 0.8.
//   forecast:      at each hour, AdviseReplicas over the next --horizon hours + the start-up lead.
//   forecast+hpa:  the larger of the two (predictive floor, reactive on top).
// Printed per method: minutes under capacity (demand > ready replicas * per_replica) as a share
// of all replayed minutes, and replica-hours used.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "backsight/core/file_util.h"
#include "backsight/evaluate/m4_scorer.h"
#include "backsight/forecast/capacity.h"

namespace {

using backsight::Status;
using backsight::forecast::CapacityAdvisor;
using backsight::forecast::CapacityOptions;

constexpr double kMeanDemand = 1000;   // requests/s each series is scaled to
constexpr double kPerReplica = 100;    // requests/s one replica serves
constexpr double kHpaTolerance = 0.1;  // --horizontal-pod-autoscaler-tolerance default
constexpr int kHpaDownWindowMin = 5;   // behavior.scaleDown.stabilizationWindowSeconds 300
constexpr int kFitHours = 14 * 24;     // history the forecaster is fitted on
constexpr int kMinutesPerHour = 60;

int Fail(const Status& s) {
  std::fprintf(stderr, "capacity_backtest: %s\n", s.ToString().c_str());
  return 4;
}

// Replicas that are ready, given requests over time with a start-up delay.
class Fleet {
 public:
  explicit Fleet(int startup_min, int initial) : startup_(startup_min), ready_(initial) {}
  // Sets the wanted count at minute `t`; returns the replicas ready to serve at minute `t`.
  int Step(int t, int want) {
    while (!pending_.empty() && pending_.front() <= t) {
      pending_.pop_front();
      ++ready_;
    }
    const int total = ready_ + static_cast<int>(pending_.size());
    for (int i = total; i < want; ++i) pending_.push_back(t + startup_);
    // Scale-down: cancel pending first, then remove ready ones (immediately).
    for (int i = total; i > want && i > 0; --i) {
      if (!pending_.empty()) {
        pending_.pop_back();
      } else {
        --ready_;
      }
    }
    return ready_;
  }
  int total() const { return ready_ + static_cast<int>(pending_.size()); }

 private:
  int startup_;
  int ready_;
  std::deque<int> pending_;
};

struct Tally {
  double under_min = 0, minutes = 0, replica_min = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Capacity advice vs the Kubernetes HPA rule, replayed on M4 Hourly demand"};
  std::string data = backsight::DataDir() + "/m4_hourly";
  int max_series = 0, startup = 5, horizon = 1;
  double noise = 0.05;
  app.add_option("--data", data, "folder with train.csv");
  app.add_option("--series", max_series, "replay only the first N series (0 = all)");
  app.add_option("--startup", startup, "minutes from a replica's request to its readiness");
  app.add_option("--horizon", horizon, "hours the forecast advice covers");
  app.add_option("--noise", noise, "sd of the lognormal minute-level demand noise");
  CLI11_PARSE(app, argc, argv);

  std::string text;
  std::vector<backsight::evaluate::M4Series> train;
  if (Status s = backsight::ReadFileToString(data + "/train.csv", &text); !s.ok()) return Fail(s);
  if (Status s = backsight::evaluate::ReadM4Wide(text, &train); !s.ok()) return Fail(s);
  if (max_series > 0 && static_cast<size_t>(max_series) < train.size()) train.resize(max_series);

  CapacityOptions opt;
  opt.per_replica = kPerReplica;
  opt.min_replicas = 1;
  opt.max_replicas = 100000;
  opt.horizon = horizon;
  opt.startup = (startup + kMinutesPerHour - 1) / kMinutesPerHour;  // lead in hourly samples
  const double target = opt.target_utilization;

  Tally hpa_t, fc_t, both_t;
  int used = 0;
  for (size_t si = 0; si < train.size(); ++si) {
    std::vector<double> x = train[si].values;
    if (static_cast<int>(x.size()) < kFitHours + 24) continue;
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    if (!(mean > 0)) continue;
    for (double& v : x) v *= kMeanDemand / mean;
    CapacityAdvisor advisor(opt);
    if (Status s = advisor.Fit(std::span<const double>(x.data(), kFitHours)); !s.ok()) {
      return Fail(s);
    }
    ++used;
    std::mt19937_64 rng(1000 + si);
    std::normal_distribution<double> z(0, noise);
    const int first = static_cast<int>(std::ceil(x[kFitHours - 1] / (kPerReplica * target)));
    Fleet hpa(startup, first), fc(startup, first), both(startup, first);
    int hpa_want = first, fc_want = first;
    std::deque<int> hpa_recent;  // desired counts of the last kHpaDownWindowMin minutes
    double prev_demand = x[kFitHours - 1];
    for (int h = kFitHours - 1; h + 1 < static_cast<int>(x.size()); ++h) {
      if (h >= kFitHours) {
        if (Status s = advisor.Update(x[h]); !s.ok()) return Fail(s);
      }
      fc_want = advisor.Advise().replicas;
      for (int m = 0; m < kMinutesPerHour; ++m) {
        const int t = h * kMinutesPerHour + m;
        const double frac = static_cast<double>(m) / kMinutesPerHour;
        const double demand = (x[h] + (x[h + 1] - x[h]) * frac) * std::exp(z(rng));
        // HPA on the previous minute's demand.
        const int cur = std::max(1, hpa.total());
        const double ratio = prev_demand / (cur * kPerReplica * target);
        int desired = cur;
        if (std::fabs(ratio - 1) > kHpaTolerance) {
          desired = std::max(1, static_cast<int>(std::ceil(cur * ratio)));
        }
        hpa_recent.push_back(desired);
        if (static_cast<int>(hpa_recent.size()) > kHpaDownWindowMin) hpa_recent.pop_front();
        hpa_want =
            desired >= cur ? desired : *std::max_element(hpa_recent.begin(), hpa_recent.end());
        const int r_hpa = hpa.Step(t, hpa_want);
        const int r_fc = fc.Step(t, fc_want);
        const int r_both = both.Step(t, std::max(fc_want, hpa_want));
        for (auto [tally, r] : {std::pair{&hpa_t, r_hpa}, {&fc_t, r_fc}, {&both_t, r_both}}) {
          tally->minutes += 1;
          tally->replica_min += r;
          if (demand > r * kPerReplica) tally->under_min += 1;
        }
        prev_demand = demand;
      }
    }
  }
  std::printf(
      "series %d, startup %d min, horizon %d h, noise sd %.3g, per replica %.0f req/s, "
      "target utilisation %.2f\n",
      used, startup, horizon, noise, kPerReplica, target);
  std::printf("%-14s %16s %14s %18s\n", "method", "under-capacity", "minutes", "replica-hours");
  for (auto [name, t] :
       {std::pair{"hpa", &hpa_t}, {"forecast", &fc_t}, {"forecast+hpa", &both_t}}) {
    std::printf("%-14s %15.3f%% %14.0f %18.0f\n", name, 100 * t->under_min / t->minutes,
                t->under_min, t->replica_min / kMinutesPerHour);
  }
  return 0;
}
