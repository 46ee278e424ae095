// M4 Hourly benchmark of the automatic forecaster (issue 11).
//
//   m4_bench [--data DIR] [--split test|validation] [--out FORECAST.csv] [--combine K]
//   m4_bench --score FORECAST.csv   (scores a forecast file in the wide layout instead)
//
// Reads the wide M4 layout (DIR/train.csv, DIR/test.csv; README of shared/data/m4_hourly),
// forecasts every series 48 steps ahead with one AutoForecaster each (no labels, no per-series
// setting), writes the forecasts in the wide layout (id,F1..F48) and prints sMAPE, MASE and OWA
// (evaluate/m4_scorer.h, the organisers' definitions), the coverage of the 95 % interval and the
// wall time of forecasting on one thread. `--split validation` holds out the last 48 values of
// each training series instead of the test file: the split on which the configuration is chosen.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "backsight/core/byte_io.h"
#include "backsight/core/file_util.h"
#include "backsight/core/number_format.h"
#include "backsight/evaluate/m4_scorer.h"
#include "backsight/forecast/auto_forecaster.h"

namespace {

using backsight::Status;
using backsight::evaluate::M4Series;

constexpr int kHorizon = 48;  // M4 Hourly horizon (README)
constexpr int kSeason = 24;   // M4 Hourly frequency m, used by MASE and Naive2

int Fail(const Status& s) {
  std::fprintf(stderr, "m4_bench: %s\n", s.ToString().c_str());
  return 4;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"M4 Hourly benchmark of backsight's automatic forecaster"};
  std::string data = backsight::DataDir() + "/m4_hourly";
  std::string split = "test";
  std::string out_path;
  int combine = backsight::forecast::AutoForecastOptions{}.combine;
  app.add_option("--data", data, "folder with train.csv and test.csv");
  app.add_option("--split", split, "test: score on test.csv; validation: last 48 of train")
      ->check(CLI::IsMember({"test", "validation"}));
  app.add_option("--out", out_path, "write the forecasts here (wide layout id,F1..F48)");
  app.add_option("--combine", combine, "median of the K best candidates by holdout error");
  std::string score_path;
  app.add_option("--score", score_path, "score this forecast file (id,F1..F48) and exit");
  CLI11_PARSE(app, argc, argv);

  std::string text;
  std::vector<M4Series> train, test;
  if (Status s = backsight::ReadFileToString(data + "/train.csv", &text); !s.ok()) return Fail(s);
  if (Status s = backsight::evaluate::ReadM4Wide(text, &train); !s.ok()) return Fail(s);
  std::vector<std::vector<double>> xs, ys, fs;
  if (split == "test") {
    if (Status s = backsight::ReadFileToString(data + "/test.csv", &text); !s.ok()) return Fail(s);
    if (Status s = backsight::evaluate::ReadM4Wide(text, &test); !s.ok()) return Fail(s);
    if (test.size() != train.size()) {
      std::fprintf(stderr, "m4_bench: %zu test series for %zu train series\n", test.size(),
                   train.size());
      return 3;
    }
    for (size_t i = 0; i < train.size(); ++i) {
      xs.push_back(train[i].values);
      ys.push_back(test[i].values);
    }
  } else {
    for (const M4Series& s : train) {
      xs.emplace_back(s.values.begin(), s.values.end() - kHorizon);
      ys.emplace_back(s.values.end() - kHorizon, s.values.end());
    }
  }

  if (!score_path.empty()) {
    std::vector<M4Series> given;
    if (Status s = backsight::ReadFileToString(score_path, &text); !s.ok()) return Fail(s);
    if (Status s = backsight::evaluate::ReadM4Wide(text, &given); !s.ok()) return Fail(s);
    std::map<std::string, std::vector<double>> by_id;
    for (M4Series& g : given) by_id[g.id] = std::move(g.values);
    for (size_t i = 0; i < train.size(); ++i) {
      auto it = by_id.find(train[i].id);
      if (it == by_id.end() || it->second.size() < kHorizon) {
        std::fprintf(stderr, "m4_bench: %s: no %d forecasts for %s\n", score_path.c_str(), kHorizon,
                     train[i].id.c_str());
        return 3;
      }
      fs.emplace_back(it->second.begin(), it->second.begin() + kHorizon);
    }
    const auto sc = backsight::evaluate::ScoreM4(xs, ys, fs, kSeason);
    std::printf("%s (%s split): sMAPE = %.4f  MASE = %.4f  OWA = %.4f  (Naive2 %.4f / %.4f)\n",
                score_path.c_str(), split.c_str(), sc.smape, sc.mase, sc.owa, sc.naive2_smape,
                sc.naive2_mase);
    return 0;
  }
  backsight::forecast::AutoForecastOptions opt;
  opt.combine = combine;
  std::vector<std::vector<double>> lo(xs.size()), hi(xs.size());
  std::map<std::string, int> chosen;
  size_t state_bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < xs.size(); ++i) {
    backsight::forecast::AutoForecaster f(opt);
    if (Status s = f.Fit(xs[i], kHorizon); !s.ok()) return Fail(s);
    std::vector<backsight::forecast::ForecastPoint> p(kHorizon);
    f.Forecast(p);
    fs.emplace_back();
    for (const auto& q : p) {
      fs.back().push_back(q.yhat);
      lo[i].push_back(q.lower);
      hi[i].push_back(q.upper);
    }
    std::string state;
    backsight::ByteWriter w(&state);
    f.Save(&w);
    state_bytes += state.size();
    const std::string best = f.Describe();  // the best candidate is named first
    ++chosen[best.substr(0, best.find(",alpha"))];
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  int inside = 0, total = 0;
  for (size_t i = 0; i < ys.size(); ++i) {
    for (int k = 0; k < kHorizon; ++k) {
      inside += ys[i][k] >= lo[i][k] && ys[i][k] <= hi[i][k];
      ++total;
    }
  }
  const auto sc = backsight::evaluate::ScoreM4(xs, ys, fs, kSeason);
  if (!out_path.empty()) {
    std::string csv = "id";
    for (int k = 1; k <= kHorizon; ++k) csv += ",F" + std::to_string(k);
    csv += '\n';
    for (size_t i = 0; i < fs.size(); ++i) {
      csv += train[i].id;
      for (double v : fs[i]) {
        csv += ',';
        backsight::AppendDouble(v, &csv);
      }
      csv += '\n';
    }
    if (Status s = backsight::WriteFileAtomically(out_path, csv); !s.ok()) return Fail(s);
  }
  std::printf("M4 Hourly (%s split): %d series, h=%d, combine=%d\n", split.c_str(), sc.series,
              kHorizon, combine);
  std::printf("sMAPE  = %.4f   (Naive2 %.4f)\n", sc.smape, sc.naive2_smape);
  std::printf("MASE   = %.4f   (Naive2 %.4f)\n", sc.mase, sc.naive2_mase);
  std::printf("OWA    = %.4f\n", sc.owa);
  std::printf("95%% interval coverage = %.3f (%d of %d)\n", double(inside) / total, inside, total);
  std::printf("wall time, fit + forecast of all series on one thread = %.3f s\n", secs);
  std::printf("saved state per series: %.0f bytes mean (%d models)\n",
              static_cast<double>(state_bytes) / xs.size(), opt.combine);
  std::printf("best candidate per series (model family: series):");
  for (const auto& [name, n] : chosen) std::printf(" %s: %d", name.c_str(), n);
  std::printf("\n");
  return 0;
}
