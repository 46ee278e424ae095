#include "backsight/evaluate/tte_scorer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "backsight/core/csv.h"

namespace backsight::evaluate {
namespace {

constexpr double kHour = 3600.0;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Protocol thresholds (README "Scoring"): warning below 24 h, correct when T <= 36 h, accuracy
// over T <= 48 h within 20 %.
constexpr double kWarnSeconds = 24 * kHour;
constexpr double kCorrectSeconds = 36 * kHour;
constexpr double kAccSeconds = 48 * kHour;
constexpr double kAccTolerance = 0.2;

bool ParseInt(const std::string& s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Python's round(x, digits) for the printed figures (half-even differences are immaterial here).
double Round(double x, int digits) {
  double f = std::pow(10.0, digits);
  return std::nearbyint(x * f) / f;
}

}  // namespace

std::vector<int64_t> TteLabel::GridPoints() const {
  std::vector<int64_t> out;
  if (eval_step_s <= 0) return out;
  for (int64_t t = eval_start_ts; t <= eval_end_ts; t += eval_step_s) out.push_back(t);
  return out;
}

std::vector<int64_t> TteLabel::EvalPoints() const {
  std::vector<int64_t> out = GridPoints();
  while (exhaust_ts && !out.empty() && out.back() >= *exhaust_ts) out.pop_back();
  return out;
}

Status ParseTteLabels(std::string_view csv_text, std::vector<TteLabel>* out) {
  std::vector<std::vector<std::string>> rows;
  BACKSIGHT_RETURN_IF_ERROR(ReadCsvRows(csv_text, &rows));
  if (rows.empty()) return Status::InvalidArgument("labels: empty file");
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
  const char* need[] = {"series_id",     "scenario",    "exhaust_class", "limit",     "step_s",
                        "eval_start_ts", "eval_end_ts", "eval_step_s",   "exhaust_ts"};
  for (const char* c : need) {
    if (!col.count(c)) return Status::InvalidArgument(std::string("labels: no column ") + c);
  }
  out->clear();
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    auto field = [&](const char* c) -> const std::string& { return row.at(col[c]); };
    std::string where = "labels:" + std::to_string(r + 1) + ": ";
    if (row.size() != rows[0].size()) return Status::InvalidArgument(where + "wrong field count");
    TteLabel l;
    l.series_id = field("series_id");
    l.scenario = field("scenario");
    l.exhaust_class = field("exhaust_class");
    char* end = nullptr;
    l.limit = std::strtod(field("limit").c_str(), &end);
    if (end == field("limit").c_str() || *end != '\0') {
      return Status::InvalidArgument(where + "bad limit");
    }
    if (!ParseInt(field("step_s"), &l.step_s) ||
        !ParseInt(field("eval_start_ts"), &l.eval_start_ts) ||
        !ParseInt(field("eval_end_ts"), &l.eval_end_ts) ||
        !ParseInt(field("eval_step_s"), &l.eval_step_s)) {
      return Status::InvalidArgument(where + "bad integer field");
    }
    if (!field("exhaust_ts").empty()) {
      int64_t e = 0;
      if (!ParseInt(field("exhaust_ts"), &e))
        return Status::InvalidArgument(where + "bad exhaust_ts");
      l.exhaust_ts = e;
    }
    out->push_back(std::move(l));
  }
  return Status::OK();
}

TteScore ScoreTte(const std::vector<TteLabel>& labels,
                  const std::vector<std::vector<double>>& predictions, std::string_view scenario) {
  TteScore s;
  int64_t acc_ok = 0, never_eps = 0, premature_eps = 0, detected = 0;
  double never_hours = 0, exh_days = 0;
  std::vector<double> leads;
  for (size_t i = 0; i < labels.size(); ++i) {
    const TteLabel& l = labels[i];
    if (!scenario.empty() && l.scenario != scenario) continue;
    std::vector<int64_t> pts = l.EvalPoints();
    int64_t eps = 0, prem = 0, warn_points = 0;
    bool prev_warn = false, prev_prem = false;
    std::optional<double> first_lead;
    for (size_t k = 0; k < pts.size(); ++k) {
      double T = l.exhaust_ts ? static_cast<double>(*l.exhaust_ts - pts[k]) : kInf;
      double P = kInf;
      if (i < predictions.size() && k < predictions[i].size()) {
        P = predictions[i][k];
        if (std::isnan(P)) P = kInf;
        P = std::max(0.0, P);
      }
      ++s.points;
      if (T <= kAccSeconds) {
        ++s.acc_points;
        if (P != kInf && std::fabs(P - T) <= kAccTolerance * T) ++acc_ok;
      }
      bool warn = P < kWarnSeconds;
      bool premature = warn && T > kCorrectSeconds && T < kInf;
      if (warn && !prev_warn) ++eps;
      if (premature && !prev_prem) ++prem;
      prev_warn = warn;
      prev_prem = premature;
      warn_points += warn ? 1 : 0;
      if (!first_lead && warn && T <= kCorrectSeconds) first_lead = T / kHour;
    }
    double days = static_cast<double>(pts.size()) * l.eval_step_s / 86400.0;
    if (l.exhaust_class == "never") {
      s.never_series_days += days;
      never_eps += eps;
      never_hours += warn_points * l.eval_step_s / kHour;
    } else {
      exh_days += days;
      premature_eps += prem;
    }
    if (l.exhaust_class == "in_window") {
      leads.push_back(first_lead.value_or(0.0));
      if (first_lead) ++detected;
    }
  }
  if (s.acc_points > 0) s.acc_20pct_48h = Round(static_cast<double>(acc_ok) / s.acc_points, 4);
  s.in_window_series = static_cast<int64_t>(leads.size());
  if (!leads.empty()) {
    double n = static_cast<double>(leads.size());
    s.detected = Round(detected / n, 4);
    double sum = 0;
    std::vector<double> pos;
    for (double x : leads) {
      sum += x;
      if (x > 0) pos.push_back(x);
    }
    s.lead_mean_h = Round(sum / n, 2);
    if (!pos.empty()) {
      std::sort(pos.begin(), pos.end());
      size_t m = pos.size();
      double med = m % 2 ? pos[m / 2] : (pos[m / 2 - 1] + pos[m / 2]) / 2;
      s.lead_median_detected_h = Round(med, 2);
    }
  }
  if (s.never_series_days > 0) {
    s.false_warn_per_1000_series_days = Round(1000 * never_eps / s.never_series_days, 1);
    s.false_warn_hours_per_1000_series_days = Round(1000 * never_hours / s.never_series_days, 1);
  }
  if (exh_days > 0)
    s.premature_warn_per_1000_series_days = Round(1000 * premature_eps / exh_days, 1);
  s.never_series_days = Round(s.never_series_days, 2);
  return s;
}

}  // namespace backsight::evaluate
