#include "backsight/traces/red_windows.h"

namespace backsight::traces {

namespace {
// The p99 the bucket reports.
constexpr double kBucketQuantile = 0.99;
constexpr double kSecondsPerNs = 1e-9;

int64_t BucketStart(int64_t t, int64_t width) {
  const int64_t r = t % width;
  return t - (r < 0 ? r + width : r);
}
}  // namespace

void RedWindows::Close(const std::pair<const std::string, Open>& e,
                       std::vector<RedBucket>* closed) {
  RedBucket b;
  const size_t nul = e.first.find('\0');
  b.service = e.first.substr(0, nul);
  b.operation = e.first.substr(nul + 1);
  b.bucket_start_ns = e.second.bucket_start_ns;
  b.calls = e.second.hist.count();
  b.errors = e.second.errors;
  b.p99_seconds = e.second.hist.Quantile(kBucketQuantile) * kSecondsPerNs;
  closed->push_back(std::move(b));
}

void RedWindows::Add(const ingest::Span& s, std::vector<RedBucket>* closed) {
  const int64_t start = BucketStart(s.start_ns, bucket_ns_);
  // A service name holds no NUL (OTLP strings may, then two operations can share a key; the
  // series would merge, nothing worse).
  key_.assign(s.service).push_back('\0');
  key_.append(s.name);
  auto it = open_.find(key_);
  if (it == open_.end()) {
    if (open_.size() >= max_operations_) {
      ++dropped_;
      return;
    }
    it = open_.try_emplace(key_).first;
    it->second.bucket_start_ns = start;
  } else if (start < it->second.bucket_start_ns) {
    ++late_;
    return;
  } else if (start > it->second.bucket_start_ns) {
    Close(*it, closed);
    it->second = Open();
    it->second.bucket_start_ns = start;
  }
  it->second.hist.Add(s.duration_ns());
  if (s.status == ingest::SpanStatus::kError) ++it->second.errors;
}

void RedWindows::Flush(int64_t before_ns, std::vector<RedBucket>* closed) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.bucket_start_ns < before_ns) {
      Close(*it, closed);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace backsight::traces
