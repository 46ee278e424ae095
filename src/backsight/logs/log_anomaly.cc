#include "backsight/logs/log_anomaly.h"

#include <algorithm>
#include <cmath>

#include "backsight/detect/default_detector.h"

namespace backsight::logs {
namespace {

bool IEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (x != b[i]) return false;
  }
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

int LevelClass(std::string_view level) {
  for (const char* w : {"ERROR", "ERR", "E", "FATAL", "F", "SEVERE", "CRITICAL", "CRIT", "ALERT",
                        "EMERG", "PANIC"}) {
    if (IEq(level, w)) return 2;
  }
  for (const char* w : {"WARN", "WARNING", "W"}) {
    if (IEq(level, w)) return 1;
  }
  return 0;
}

LogAnomalyScorer::LogAnomalyScorer(const LogAnomalyOptions& options) : options_(options) {
  if (options_.bucket_ns <= 0) options_.bucket_ns = 60 * kNanosPerSecond;
  if (!(options_.rare_fraction > 0 && options_.rare_fraction < 1)) options_.rare_fraction = 1e-3;
  if (!(options_.ewma_alpha > 0 && options_.ewma_alpha <= 1)) options_.ewma_alpha = 0.05;
  if (!(options_.level_share_alpha > 0 && options_.level_share_alpha <= 1)) {
    options_.level_share_alpha = 1.0 / 1000;
  }
}

double LogAnomalyScorer::PoissonSurgeScore(uint64_t k, double lambda) {
  lambda = std::max(lambda, 0.01);  // a never-seen rate still has a small prior
  if (static_cast<double>(k) <= lambda) return 0;
  // log P(X >= k) = log pmf(k) + log(1 + l/(k+1) + l^2/((k+1)(k+2)) + ...)
  const double kk = static_cast<double>(k);
  double log_pmf = kk * std::log(lambda) - lambda - std::lgamma(kk + 1);
  double sum = 1, term = 1;
  for (int j = 1; j < 200; ++j) {
    term *= lambda / (kk + j);
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  double log10_p = (log_pmf + std::log(sum)) / std::log(10.0);
  return std::max(0.0, -log10_p / 3.0);
}

double LogAnomalyScorer::BinomialSurgeScore(uint64_t k, uint64_t n, double p) {
  if (n == 0 || static_cast<double>(k) <= p * n) return 0;
  p = std::min(std::max(p, 1e-9), 1 - 1e-9);
  // log P(X >= k) = log sum_{j=k..n} C(n,j) p^j (1-p)^(n-j), summed in log space.
  auto log_pmf = [&](uint64_t j) {
    const double nn = static_cast<double>(n), jj = static_cast<double>(j);
    return std::lgamma(nn + 1) - std::lgamma(jj + 1) - std::lgamma(nn - jj + 1) + jj * std::log(p) +
           (nn - jj) * std::log1p(-p);
  };
  const double top = log_pmf(k);
  double sum = 0;
  for (uint64_t j = k; j <= n; ++j) sum += std::exp(log_pmf(j) - top);
  const double log10_p = (top + std::log(sum)) / std::log(10.0);
  return std::max(0.0, -log10_p / 3.0);
}

double LogAnomalyScorer::QuasiPoissonSurgeScore(uint64_t k, double mean, double var) {
  // Over-dispersed counts (bursty logs): scale counts by the dispersion d = var/mean >= 1.
  mean = std::max(mean, 0.01);
  const double d = std::max(1.0, var / mean);
  return PoissonSurgeScore(static_cast<uint64_t>(static_cast<double>(k) / d), mean / d);
}

void LogAnomalyScorer::CloseBucket(uint32_t id, TemplateActivity* a, int64_t now_bucket,
                                   bool partial) {
  // Fold the closed bucket (a->last_bucket) and the empty buckets up to now_bucket into the rate.
  const double alpha = options_.ewma_alpha;
  const double c = static_cast<double>(a->bucket_count);
  auto fold = [&](double x) {  // EWMA mean and variance (West 1979, exponentially weighted)
    const double delta = x - a->rate;
    a->rate += alpha * delta;
    a->var = (1 - alpha) * (a->var + alpha * delta * delta);
  };
  if (a->buckets_seen == 0) {
    a->rate = c;
    a->var = 0;
  } else {
    fold(c);
  }
  ++a->buckets_seen;
  const int64_t empty = std::min<int64_t>(now_bucket - a->last_bucket - 1, 2000);
  for (int64_t e = 0; e < empty; ++e) fold(0);
  if (empty > 0) a->buckets_seen += static_cast<int>(empty);
  if (a->detector) {
    detect::DetectionResult r;
    // A partial bucket's count is low only because the input ended: it is reported only when it
    // already exceeds the expected count of a whole bucket (a surge), never as a collapse.
    if (a->detector->Update(a->last_bucket * options_.bucket_ns, c, &r).ok() && r.is_anomaly &&
        !r.warming_up && (!partial || c > r.yhat)) {
      events_.push_back(
          {id, a->last_bucket * options_.bucket_ns, a->bucket_count, r.anomaly_score});
    }
  }
  a->recent.emplace_back(a->last_bucket, a->bucket_count);
  if (a->recent.size() > 64) a->recent.erase(a->recent.begin());
  a->last_bucket = now_bucket;
  a->bucket_count = 0;
}

LineScores LogAnomalyScorer::Observe(TimestampNs ts, uint32_t template_id, int level_class) {
  if (have_ts_ && ts < last_ts_) ts = last_ts_;
  last_ts_ = ts;
  have_ts_ = true;
  ++lines_;
  const int64_t bucket = FloorDiv(ts, options_.bucket_ns);
  LineScores s;

  auto [it, inserted] = templates_.try_emplace(template_id);
  TemplateActivity& a = it->second;
  if (inserted) {
    a.first_seen_ns = ts;
    a.last_bucket = bucket;
    a.detector = detect::MakeDefaultDetector();
  } else if (bucket != a.last_bucket) {
    CloseBucket(template_id, &a, bucket);
  }
  ++a.count;
  ++a.bucket_count;

  const bool warm = lines_ > options_.warmup_lines;
  if (inserted) a.new_after_warmup = warm;
  if (a.new_after_warmup && ts - a.first_seen_ns <= options_.novelty_window_ns) {
    s.new_score = 2.0 / std::sqrt(static_cast<double>(a.count));
  }
  if (warm) {
    const double p = static_cast<double>(a.count) / static_cast<double>(lines_);
    s.rare_score = std::log(1 / p) / std::log(1 / options_.rare_fraction);
  }
  if (a.buckets_seen >= options_.rate_warmup_buckets &&
      a.bucket_count >= options_.min_surge_count) {
    s.rate_score = QuasiPoissonSurgeScore(a.bucket_count, a.rate, a.var);
  }
  // Error/warning-level lines, all templates together.
  if (level_.buckets_seen == 0 && level_.count == 0 && !level_.detector) {
    level_.detector = detect::MakeDefaultDetector();
    level_.last_bucket = bucket;
    level_.first_seen_ns = ts;
  }
  if (bucket != level_.last_bucket) CloseBucket(0, &level_, bucket);
  // Line-count window of level flags.
  const size_t w = std::max<uint32_t>(1, options_.level_window_lines);
  if (level_window_.size() < w) {
    level_window_.push_back(level_class > 0);
  } else {
    // The flag leaving the window joins the long-run share (EWMA over lines before the window).
    const double leaving = level_window_[level_window_pos_];
    const double beta = std::max(1.0 / static_cast<double>(lines_ - w), options_.level_share_alpha);
    level_share_ += beta * (leaving - level_share_);
    level_window_errors_ -= level_window_[level_window_pos_];
    level_window_[level_window_pos_] = level_class > 0;
    level_window_pos_ = (level_window_pos_ + 1) % w;
  }
  level_window_errors_ += level_class > 0 ? 1 : 0;
  if (level_class > 0) {
    ++level_.count;
    ++level_.bucket_count;

    if (level_.buckets_seen >= options_.rate_warmup_buckets &&
        level_.bucket_count >= options_.min_surge_count) {
      s.level_score = QuasiPoissonSurgeScore(level_.bucket_count, level_.rate, level_.var);
    }
    // The window test needs only a history as long as the window itself (not the template
    // warm-up): a burst of errors early in a stream is still a burst.
    if (level_window_.size() == w && lines_ >= 2 * w) {
      const double p = (level_share_ * (lines_ - w) + 1) / ((lines_ - w) + 2.0);
      s.level_score = std::max(s.level_score, BinomialSurgeScore(level_window_errors_, w, p));
    }
  }
  s.score = s.new_score;
  s.reason = "new";
  if (s.rare_score > s.score) {
    s.score = s.rare_score;
    s.reason = "rare";
  }
  if (s.rate_score > s.score) {
    s.score = s.rate_score;
    s.reason = "rate";
  }
  if (s.level_score > s.score) {
    s.score = s.level_score;
    s.reason = "level";
  }
  s.is_anomaly = s.score > 1;
  if (!s.is_anomaly && s.score == 0) s.reason = "";
  return s;
}

void LogAnomalyScorer::Finish() {
  // The bucket holding the last line seen is cut by the end of input (unless that line fell in
  // its last nanosecond); buckets a template left earlier were whole.
  const int64_t end_bucket = FloorDiv(last_ts_, options_.bucket_ns);
  const bool end_partial = FloorDiv(last_ts_ + 1, options_.bucket_ns) == end_bucket;
  for (auto& [id, a] : templates_) {
    if (a.bucket_count > 0) {
      CloseBucket(id, &a, a.last_bucket + 1, end_partial && a.last_bucket == end_bucket);
    }
  }
  if (level_.detector && level_.bucket_count > 0) {
    CloseBucket(0, &level_, level_.last_bucket + 1,
                end_partial && level_.last_bucket == end_bucket);
  }
}

void LogAnomalyScorer::Forget(uint32_t template_id) { templates_.erase(template_id); }

const TemplateActivity* LogAnomalyScorer::Activity(uint32_t template_id) const {
  auto it = templates_.find(template_id);
  return it == templates_.end() ? nullptr : &it->second;
}

}  // namespace backsight::logs
