// false_alarm_bench: how often the default detector alarms on series that hold no anomaly.
//
// NAB measures detection on labelled windows; this program measures the other half an operator
// lives with: the alarm rate on synthetic series with nothing abnormal in them (stationary noise
// of several shapes, a noisy daily cycle, a random walk). For each kind it runs `--seeds` series
// of `--samples` samples (5-minute steps), one fresh detector each, and prints, after the
// warm-up, the share of samples with is_anomaly, the alarm episodes (runs of anomalous samples)
// per 1,000 samples and per series-day, and the share of episodes lasting more than one sample
// (those that an alert rule with `for` longer than one step would turn into an alert). Every row
// after the warm-up counts; the episodes per series-day in the first kEarlyRows rows after the
// warm-up are also printed on their own, since a shorter warm-up shows its cost there.
//
// Usage: false_alarm_bench [--seeds N] [--samples M] [--warmup W]
//   --warmup W: the detector's warm-up in samples (default: the default detector's).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "backsight/detect/default_detector.h"

namespace {

using backsight::detect::DefaultDetectorOptions;
using backsight::detect::DetectionResult;
using backsight::detect::MakeDefaultDetector;

constexpr int64_t kStepNs = 300'000'000'000LL;  // 5 minutes
constexpr double kPi = 3.14159265358979323846;
// Rows right after the warm-up reported on their own: the default warm-up's length (500), so a
// shorter warm-up's first rows are compared with as many rows of the default's.
constexpr int kEarlyRows = 500;

enum Kind { kGaussian, kStudentT3, kPoisson2, kSpiky, kLogNormal, kDailyNoise, kRandomWalk, kNum };
const char* const kNames[kNum] = {"gaussian",   "student-t(3)",  "poisson(2)", "spiky (1% x10)",
                                  "log-normal", "daily + noise", "random walk"};

struct Source {
  explicit Source(uint64_t seed) : g(seed) {}
  double Next(Kind k, int i) {
    switch (k) {
      case kGaussian:
        return 100 + n(g);
      case kStudentT3:
        return 100 + t(g);
      case kPoisson2:
        return p(g);
      case kSpiky:  // a quiet base with routine spikes: spikes are normal for this series
        return 10 + n(g) + (u(g) < 0.01 ? 100 * std::fabs(n(g)) : 0);
      case kLogNormal:
        return std::exp(n(g));
      case kDailyNoise:
        return 50 + 10 * std::sin(2 * kPi * i / 288) + n(g);
      default:
        walk += n(g);
        return walk;
    }
  }
  std::mt19937_64 g;
  std::normal_distribution<double> n{0, 1};
  std::student_t_distribution<double> t{3};
  std::poisson_distribution<int> p{2};
  std::uniform_real_distribution<double> u{0, 1};
  double walk = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int seeds = 20, samples = 20000;
  int warmup = DefaultDetectorOptions().warmup_samples;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc) {
      seeds = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) {
      samples = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--warmup") && i + 1 < argc) {
      warmup = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: false_alarm_bench [--seeds N] [--samples M] [--warmup W]\n");
      return 2;
    }
  }
  if (seeds < 1 || samples < 1000 || warmup < 0 || warmup + kEarlyRows > samples) {
    std::fprintf(stderr,
                 "false_alarm_bench: need --seeds >= 1, --samples >= 1000, 0 <= --warmup <= "
                 "samples - %d\n",
                 kEarlyRows);
    return 2;
  }
  DefaultDetectorOptions opt;
  opt.warmup_samples = warmup;
  std::printf(
      "Default detector on series without anomalies: %d series x %d samples (5-min steps) "
      "per kind, warm-up %d samples\n\n",
      seeds, samples, warmup);
  std::printf("%-16s %12s %14s %14s %16s %18s\n", "kind", "alarm rows", "episodes/1000",
              "episodes/day", "multi-sample", "first 500: ep/day");
  for (int k = 0; k < kNum; ++k) {
    long rows = 0, alarms = 0, episodes = 0, multi = 0, early_rows = 0, early_episodes = 0;
    for (int s = 0; s < seeds; ++s) {
      Source src(static_cast<uint64_t>(s) * 7919 + k);
      auto d = MakeDefaultDetector(opt);
      DetectionResult r;
      int run = 0, after_warmup = 0;
      for (int i = 0; i < samples; ++i) {
        if (!d->Update(i * kStepNs, src.Next(static_cast<Kind>(k), i), &r).ok()) continue;
        if (r.warming_up) continue;
        const bool early = after_warmup++ < kEarlyRows;
        ++rows;
        if (early) ++early_rows;
        if (r.is_anomaly) {
          ++alarms;
          if (run++ == 0) {
            ++episodes;
            if (early) ++early_episodes;
          }
          if (run == 2) ++multi;
        } else {
          run = 0;
        }
      }
    }
    std::printf("%-16s %11.4f%% %14.3f %14.3f %15.1f%% %18.3f\n", kNames[k], 100.0 * alarms / rows,
                1000.0 * episodes / rows, 288.0 * episodes / rows,
                episodes ? 100.0 * multi / episodes : 0.0,
                early_rows ? 288.0 * early_episodes / early_rows : 0.0);
  }
  return 0;
}
