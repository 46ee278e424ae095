#include "backsight/logs/log_anomaly.h"

#include <algorithm>
#include <cmath>

#include "backsight/core/byte_io.h"
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

// Scorer state header: "BSLA" little-endian, then the format version.
constexpr uint32_t kScorerStateMagic = 0x414C5342;
constexpr uint32_t kScorerStateVersion = 1;
// TemplateActivity::recent holds at most this many buckets (see CloseBucket).
constexpr uint64_t kMaxRecentBuckets = 64;

void PutActivity(const TemplateActivity& a, ByteWriter* w) {
  w->PutI64(a.first_seen_ns);
  w->PutU64(a.count);
  w->PutI64(a.last_bucket);
  w->PutU64(a.bucket_count);
  w->PutDouble(a.rate);
  w->PutDouble(a.var);
  w->PutU32(static_cast<uint32_t>(a.buckets_seen));
  w->PutVarint(a.recent.size());
  for (const auto& [b, c] : a.recent) {
    w->PutI64(b);
    w->PutU64(c);
  }
  w->PutU8(a.new_after_warmup ? 1 : 0);
  w->PutU8(a.detector ? 1 : 0);
  if (a.detector) {
    std::string d;
    a.detector->SaveState(&d);
    w->PutString(d);
  }
}

Status GetActivity(ByteReader* r, TemplateActivity* a) {
  uint32_t buckets_seen = 0;
  uint64_t nrecent = 0;
  uint8_t new_after_warmup = 0, has_detector = 0;
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&a->first_seen_ns, "first_seen_ns"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&a->count, "count"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&a->last_bucket, "last_bucket"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&a->bucket_count, "bucket_count"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&a->rate, "rate"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&a->var, "var"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&buckets_seen, "buckets_seen"));
  if (buckets_seen > static_cast<uint32_t>(INT32_MAX)) {
    return Status::Corruption("scorer state: buckets_seen out of range");
  }
  a->buckets_seen = static_cast<int>(buckets_seen);
  BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&nrecent, "recent size"));
  if (nrecent > kMaxRecentBuckets) return Status::Corruption("scorer state: recent too long");
  a->recent.resize(nrecent);
  for (auto& [b, c] : a->recent) {
    BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&b, "recent bucket"));
    BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&c, "recent count"));
  }
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&new_after_warmup, "new_after_warmup"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&has_detector, "has_detector"));
  if (new_after_warmup > 1 || has_detector > 1) {
    return Status::Corruption("scorer state: bad flag at byte " + std::to_string(r->position()));
  }
  a->new_after_warmup = new_after_warmup == 1;
  a->detector.reset();
  if (has_detector) {
    std::string d;
    BACKSIGHT_RETURN_IF_ERROR(r->GetString(&d, "detector state"));
    a->detector = detect::MakeDefaultDetector();
    Status st = a->detector->RestoreState(d);
    if (!st.ok()) return Status::Corruption("scorer state: template detector: " + st.message());
  }
  return Status::OK();
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

void LogAnomalyScorer::SaveState(std::string* out) const {
  ByteWriter w(out);
  w.PutU32(kScorerStateMagic);
  w.PutU32(kScorerStateVersion);
  w.PutI64(options_.bucket_ns);
  w.PutU64(options_.warmup_lines);
  w.PutI64(options_.novelty_window_ns);
  w.PutDouble(options_.rare_fraction);
  w.PutDouble(options_.ewma_alpha);
  w.PutU32(static_cast<uint32_t>(options_.rate_warmup_buckets));
  w.PutU64(options_.min_surge_count);
  w.PutU32(options_.level_window_lines);
  w.PutDouble(options_.level_share_alpha);
  w.PutU64(lines_);
  w.PutI64(last_ts_);
  w.PutU8(have_ts_ ? 1 : 0);
  // Iteration order and bucket count: RestoreState rebuilds the same order (see there).
  w.PutVarint(templates_.bucket_count());
  w.PutVarint(templates_.size());
  for (const auto& [id, a] : templates_) {
    w.PutU32(id);
    PutActivity(a, &w);
  }
  PutActivity(level_, &w);
  w.PutVarint(level_window_.size());
  for (uint8_t f : level_window_) w.PutU8(f);
  w.PutVarint(level_window_pos_);
  w.PutU64(level_window_errors_);
  w.PutDouble(level_share_);
  w.PutVarint(events_.size());
  for (const TemplateRateEvent& e : events_) {
    w.PutU32(e.template_id);
    w.PutI64(e.bucket_start_ns);
    w.PutU64(e.count);
    w.PutDouble(e.anomaly_score);
  }
}

Status LogAnomalyScorer::RestoreState(std::string_view in) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(
      r.GetStateHeader(kScorerStateMagic, kScorerStateVersion, "scorer state"));
  LogAnomalyScorer s;
  LogAnomalyOptions& o = s.options_;
  uint32_t rate_warmup = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&o.bucket_ns, "bucket_ns"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&o.warmup_lines, "warmup_lines"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&o.novelty_window_ns, "novelty_window_ns"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&o.rare_fraction, "rare_fraction"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&o.ewma_alpha, "ewma_alpha"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&rate_warmup, "rate_warmup_buckets"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&o.min_surge_count, "min_surge_count"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&o.level_window_lines, "level_window_lines"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&o.level_share_alpha, "level_share_alpha"));
  // The constructor's validity rules: a state breaking them was not written by SaveState.
  if (o.bucket_ns <= 0 || !(o.rare_fraction > 0 && o.rare_fraction < 1) ||
      !(o.ewma_alpha > 0 && o.ewma_alpha <= 1) ||
      !(o.level_share_alpha > 0 && o.level_share_alpha <= 1) ||
      rate_warmup > static_cast<uint32_t>(INT32_MAX)) {
    return Status::Corruption("scorer state: options out of range");
  }
  o.rate_warmup_buckets = static_cast<int>(rate_warmup);
  uint8_t have_ts = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&s.lines_, "lines"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s.last_ts_, "last_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&have_ts, "have_ts"));
  if (have_ts > 1) return Status::Corruption("scorer state: bad have_ts flag");
  s.have_ts_ = have_ts == 1;
  uint64_t nbuckets = 0, ntemplates = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nbuckets, "bucket count"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&ntemplates, "template count"));
  // Each entry takes well over 8 bytes; a larger count is corrupt (and must not allocate).
  if (ntemplates > r.remaining() / 8 || nbuckets > 2 * r.remaining() + 16) {
    return Status::Corruption("scorer state: template count too large");
  }
  std::vector<std::pair<uint32_t, TemplateActivity>> entries(ntemplates);
  for (auto& [id, a] : entries) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&id, "template id"));
    BACKSIGHT_RETURN_IF_ERROR(GetActivity(&r, &a));
  }
  // With a fixed bucket count, an insertion goes to the front of its bucket's group (or of the
  // list when the bucket is empty), so inserting in reverse iteration order rebuilds that order
  // (libstdc++'s node list); Finish() iterates in it.
  s.templates_.rehash(nbuckets);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (!s.templates_.emplace(it->first, std::move(it->second)).second) {
      return Status::Corruption("scorer state: duplicate template id");
    }
  }
  BACKSIGHT_RETURN_IF_ERROR(GetActivity(&r, &s.level_));
  uint64_t nwindow = 0, pos = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nwindow, "level window size"));
  if (nwindow > std::max<uint32_t>(1, o.level_window_lines) || nwindow > r.remaining()) {
    return Status::Corruption("scorer state: level window too long");
  }
  s.level_window_.resize(nwindow);
  for (uint8_t& f : s.level_window_) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&f, "level flag"));
    if (f > 1) return Status::Corruption("scorer state: bad level flag");
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&pos, "level window position"));
  if (pos >= std::max<uint64_t>(1, nwindow)) {
    return Status::Corruption("scorer state: level window position out of range");
  }
  s.level_window_pos_ = pos;
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&s.level_window_errors_, "level window errors"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s.level_share_, "level share"));
  uint64_t nevents = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nevents, "event count"));
  if (nevents > r.remaining() / 28) return Status::Corruption("scorer state: event count");
  s.events_.resize(nevents);
  for (TemplateRateEvent& e : s.events_) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&e.template_id, "event template id"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&e.bucket_start_ns, "event bucket"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&e.count, "event count"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&e.anomaly_score, "event score"));
  }
  if (!r.done()) {
    return Status::Corruption("scorer state: trailing bytes at byte " +
                              std::to_string(r.position()));
  }
  *this = std::move(s);
  return Status::OK();
}

void LogAnomalyScorer::Forget(uint32_t template_id) { templates_.erase(template_id); }

const TemplateActivity* LogAnomalyScorer::Activity(uint32_t template_id) const {
  auto it = templates_.find(template_id);
  return it == templates_.end() ? nullptr : &it->second;
}

}  // namespace backsight::logs
