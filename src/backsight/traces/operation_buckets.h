// Time buckets of span-derived counts, one open bucket per (service, operation): the bucket
// logic that RedWindows (red_windows.h: calls, errors, p99) and RetryRatioWindows
// (retry_ratio.h: calls, retries) share, each with its own accumulator. A value is counted into
// the bucket of its time; when a value of a later bucket arrives for an operation, the
// operation's open bucket is closed (handed to the caller) and a new one opened. Buckets left
// open by operations that fall silent are closed by Flush.
#ifndef BACKSIGHT_TRACES_OPERATION_BUCKETS_H_
#define BACKSIGHT_TRACES_OPERATION_BUCKETS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace backsight::traces {

/// Start of the bucket of width `width_ns` (> 0) that holds `t_ns`: `t_ns` floored to a
/// multiple of the width, also for times before the epoch.
inline int64_t BucketStart(int64_t t_ns, int64_t width_ns) {
  const int64_t r = t_ns % width_ns;
  return t_ns - (r < 0 ? r + width_ns : r);
}

/// Open buckets of accumulator `Acc` (default-constructible: a fresh bucket is `Acc{}`) keyed by
/// (service, operation). Bounded: at most `max_operations` open buckets (values of further
/// operations are dropped and counted); a value older than its operation's open bucket is
/// counted as late and dropped.
template <typename Acc>
class OperationBuckets {
 public:
  OperationBuckets(int64_t bucket_ns, size_t max_operations)
      : bucket_ns_(bucket_ns), max_operations_(max_operations) {}

  /// The accumulator of the bucket of (`service`, `operation`) that holds `t_ns` (ns since the
  /// epoch), to count one value into. When `t_ns` lies in a later bucket than the operation's
  /// open one, that one is first closed: `close(service, operation, bucket_start_ns, acc)` is
  /// called with the closed bucket. nullptr when the value is late or dropped (see the class).
  template <typename CloseFn>
  Acc* Find(std::string_view service, std::string_view operation, int64_t t_ns, CloseFn&& close) {
    const int64_t start = BucketStart(t_ns, bucket_ns_);
    // A service name holds no NUL (OTLP strings may, then two operations can share a key; the
    // series would merge, nothing worse).
    key_.assign(service).push_back('\0');
    key_.append(operation);
    auto it = open_.find(std::string_view(key_));
    if (it == open_.end()) {
      if (open_.size() >= max_operations_) {
        ++dropped_;
        return nullptr;
      }
      it = open_.try_emplace(key_).first;
      it->second.bucket_start_ns = start;
    } else if (start < it->second.bucket_start_ns) {
      ++late_;
      return nullptr;
    } else if (start > it->second.bucket_start_ns) {
      Close(*it, close);
      it->second = Open();
      it->second.bucket_start_ns = start;
    }
    return &it->second.acc;
  }

  /// Closes every open bucket that starts before `before_ns` (all with INT64_MAX), calling
  /// `close` as Find does, in the map's order.
  template <typename CloseFn>
  void Flush(int64_t before_ns, CloseFn&& close) {
    for (auto it = open_.begin(); it != open_.end();) {
      if (it->second.bucket_start_ns < before_ns) {
        Close(*it, close);
        it = open_.erase(it);
      } else {
        ++it;
      }
    }
  }

  /// Values older than their operation's open bucket.
  uint64_t late() const { return late_; }
  /// Values of new operations refused at the `max_operations` cap.
  uint64_t dropped() const { return dropped_; }
  size_t open_operations() const { return open_.size(); }

 private:
  struct Open {
    int64_t bucket_start_ns = 0;
    Acc acc{};
  };
  // Key: service and operation joined by a NUL byte, found by a view of the scratch key (no
  // allocation per value).
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Map = std::unordered_map<std::string, Open, StringHash, std::equal_to<>>;

  template <typename CloseFn>
  static void Close(const typename Map::value_type& e, CloseFn& close) {
    const std::string_view key = e.first;
    const size_t nul = key.find('\0');
    close(key.substr(0, nul), key.substr(nul + 1), e.second.bucket_start_ns, e.second.acc);
  }

  int64_t bucket_ns_;
  size_t max_operations_;
  Map open_;
  std::string key_;  // scratch key
  uint64_t late_ = 0, dropped_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_OPERATION_BUCKETS_H_
