// BoundedFifoMap: a map that keeps at most `capacity` entries by dropping the first-inserted one.
#ifndef BACKSIGHT_CORE_BOUNDED_FIFO_MAP_H_
#define BACKSIGHT_CORE_BOUNDED_FIFO_MAP_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <utility>

namespace backsight {

/// An ordered map of at most `capacity` entries: inserting a new key into a full map first drops
/// the entry inserted longest ago (first in, first out; updating a value keeps its place). For
/// bookkeeping that must stay bounded under hostile input (client addresses, series fingerprints)
/// where forgetting the oldest is harmless. `Less` may be transparent (the default,
/// std::less<>), so a std::string map can be searched with a std::string_view. Not thread-safe.
template <typename Key, typename Value, typename Less = std::less<>>
class BoundedFifoMap {
 public:
  /// `capacity` is raised to 1 if 0.
  explicit BoundedFifoMap(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

  /// The value of `key`, or null when absent. Valid until the next Put.
  template <typename K>
  const Value* Find(const K& key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }

  /// Sets the value of `key`. A key already present keeps its place in the insertion order; a
  /// new one, when the map holds `capacity` entries, first drops the oldest. Returns true when
  /// `key` was new.
  template <typename K>
  bool Put(const K& key, Value value) {
    if (const auto it = map_.find(key); it != map_.end()) {
      it->second = std::move(value);
      return false;
    }
    if (map_.size() >= capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(map_.emplace(Key(key), std::move(value)).first);
    return true;
  }

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  using Map = std::map<Key, Value, Less>;
  size_t capacity_;
  Map map_;
  std::deque<typename Map::iterator> order_;  // every entry of map_, oldest first
};

}  // namespace backsight

#endif  // BACKSIGHT_CORE_BOUNDED_FIFO_MAP_H_
