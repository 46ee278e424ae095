#include "backsight/evaluate/m4_scorer.h"

#include <charconv>
#include <cmath>

#include "backsight/core/csv.h"

namespace backsight::evaluate {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Autocorrelations r_1..r_nlag of x (as R's acf).
std::vector<double> Acf(std::span<const double> x, int nlag) {
  const size_t n = x.size();
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double den = 0;
  for (double v : x) den += (v - mean) * (v - mean);
  std::vector<double> r(nlag, 0.0);
  for (int k = 1; k <= nlag; ++k) {
    double c = 0;
    for (size_t t = 0; t + k < n; ++t) c += (x[t] - mean) * (x[t + k] - mean);
    r[k - 1] = den > 0 ? c / den : 0.0;
  }
  return r;
}

}  // namespace

Status ReadM4Wide(std::string_view text, std::vector<M4Series>* out) {
  out->clear();
  CsvReader reader(text);
  std::vector<std::string_view> fields;
  bool eof = false;
  BACKSIGHT_RETURN_IF_ERROR(reader.Next(&fields, &eof));  // header
  while (true) {
    BACKSIGHT_RETURN_IF_ERROR(reader.Next(&fields, &eof));
    if (eof) break;
    M4Series s;
    s.id = std::string(Trim(fields[0]));
    size_t last = fields.size();
    while (last > 1 && Trim(fields[last - 1]).empty()) --last;
    for (size_t i = 1; i < last; ++i) {
      const std::string_view f = Trim(fields[i]);
      double v = 0;
      const auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (f.empty() || ec != std::errc() || p != f.data() + f.size()) {
        return Status::InvalidArgument("line " + std::to_string(reader.line()) + ": field " +
                                       std::to_string(i + 1) + " is not a number: '" +
                                       std::string(f) + "'");
      }
      s.values.push_back(v);
    }
    out->push_back(std::move(s));
  }
  return Status::OK();
}

bool M4SeasonalityTest(std::span<const double> x, int m) {
  const int n = static_cast<int>(x.size());
  if (m <= 1 || n < 3 * m) return false;
  const int lag_max = std::min(static_cast<int>(std::floor(10 * std::log10(n))), n - 1);
  if (m > lag_max) return false;
  const std::vector<double> r = Acf(x, m);
  double s = 0;
  for (int k = 0; k < m - 1; ++k) s += r[k] * r[k];
  return std::fabs(r[m - 1]) > 1.645 / std::sqrt(n) * std::sqrt(1 + 2 * s);
}

std::vector<double> M4Naive2(std::span<const double> x, int m, int h) {
  const int n = static_cast<int>(x.size());
  std::vector<double> idx(std::max(m, 1), 1.0);
  if (M4SeasonalityTest(x, m)) {
    // Centred moving average (2 x m for even m), then mean ratios per phase, normalised.
    std::vector<double> w;
    if (m % 2 == 0) {
      w.assign(m + 1, 1.0 / m);
      w.front() = w.back() = 0.5 / m;
    } else {
      w.assign(m, 1.0 / m);
    }
    const int half = static_cast<int>(w.size()) / 2;
    std::vector<double> sum(m, 0.0);
    std::vector<int> cnt(m, 0);
    for (int i = half; i < n - half; ++i) {
      double tr = 0;
      for (size_t j = 0; j < w.size(); ++j) tr += w[j] * x[i - half + j];
      sum[i % m] += x[i] / tr;
      ++cnt[i % m];
    }
    double mean = 0;
    for (int j = 0; j < m; ++j) {
      idx[j] = sum[j] / cnt[j];
      mean += idx[j];
    }
    mean /= m;
    for (double& v : idx) v /= mean;
  }
  const int p = static_cast<int>(idx.size());
  const double last = x[n - 1] / idx[(n - 1) % p];
  std::vector<double> f(h);
  for (int k = 0; k < h; ++k) f[k] = last * idx[(n + k) % p];
  return f;
}

double M4Smape(std::span<const double> y, std::span<const double> f) {
  double tot = 0;
  for (size_t k = 0; k < y.size(); ++k) {
    const double den = std::fabs(y[k]) + std::fabs(f[k]);
    tot += den == 0 ? 0.0 : 200.0 * std::fabs(y[k] - f[k]) / den;
  }
  return tot / y.size();
}

double M4Mase(std::span<const double> x, std::span<const double> y, std::span<const double> f,
              int m) {
  double scale = 0;
  for (size_t t = m; t < x.size(); ++t) scale += std::fabs(x[t] - x[t - m]);
  scale /= static_cast<double>(x.size() - m);
  double err = 0;
  for (size_t k = 0; k < y.size(); ++k) err += std::fabs(y[k] - f[k]);
  return err / y.size() / scale;
}

M4Score ScoreM4(const std::vector<std::vector<double>>& x,
                const std::vector<std::vector<double>>& y,
                const std::vector<std::vector<double>>& f, int m) {
  M4Score s;
  s.series = static_cast<int>(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const std::vector<double> n2 = M4Naive2(x[i], m, static_cast<int>(y[i].size()));
    s.smape += M4Smape(y[i], f[i]);
    s.mase += M4Mase(x[i], y[i], f[i], m);
    s.naive2_smape += M4Smape(y[i], n2);
    s.naive2_mase += M4Mase(x[i], y[i], n2, m);
  }
  if (s.series > 0) {
    for (double* v : {&s.smape, &s.mase, &s.naive2_smape, &s.naive2_mase}) *v /= s.series;
    s.owa = 0.5 * (s.smape / s.naive2_smape + s.mase / s.naive2_mase);
  }
  return s;
}

}  // namespace backsight::evaluate
