// FlatIndex: open-addressing hash map from a 64-bit key (a series fingerprint, a span id hash)
// to a 32-bit slot number.
// Linear probing over 12-byte entries, load factor <= 1/2, backward-shift deletion (no
// tombstones), so a lookup is usually one cache miss. Fingerprints are already well mixed
// (FNV-1a, std::hash); a final multiply-shift spreads them over the table. Not thread-safe.
#ifndef BACKSIGHT_CORE_FLAT_INDEX_H_
#define BACKSIGHT_CORE_FLAT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace backsight {

class FlatIndex {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  FlatIndex() { Rehash(16); }

  /// Slot stored for `fp`, or kNone.
  uint32_t Find(uint64_t fp) const {
    for (size_t i = Home(fp);; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.slot == kNone) return kNone;
      if (e.fp == fp) return e.slot;
    }
  }
  /// Hints the CPU to load the bucket where `fp` starts probing (before a Find).
  void Prefetch(uint64_t fp) const { __builtin_prefetch(&table_[Home(fp)]); }
  /// Inserts or overwrites.
  void Put(uint64_t fp, uint32_t slot) {
    if ((size_ + 1) * 2 > table_.size()) Rehash(table_.size() * 2);
    for (size_t i = Home(fp);; i = (i + 1) & mask_) {
      Entry& e = table_[i];
      if (e.slot == kNone) {
        e = {fp, slot};
        ++size_;
        return;
      }
      if (e.fp == fp) {
        e.slot = slot;
        return;
      }
    }
  }
  /// Removes `fp` if present.
  void Erase(uint64_t fp) {
    size_t i = Home(fp);
    for (;; i = (i + 1) & mask_) {
      if (table_[i].slot == kNone) return;
      if (table_[i].fp == fp) break;
    }
    // Backward-shift: move later entries of the probe run into the hole when allowed.
    size_t hole = i;
    for (size_t j = (i + 1) & mask_; table_[j].slot != kNone; j = (j + 1) & mask_) {
      size_t home = Home(table_[j].fp);
      // Entry j may move to the hole if its home is not in (hole, j] cyclically.
      bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!between) {
        table_[hole] = table_[j];
        hole = j;
      }
    }
    table_[hole].slot = kNone;
    --size_;
  }
  size_t size() const { return size_; }

 private:
#pragma pack(push, 4)
  struct Entry {
    uint64_t fp = 0;
    uint32_t slot = kNone;
  };
#pragma pack(pop)

  size_t Home(uint64_t fp) const {
    return static_cast<size_t>((fp * 0x9e3779b97f4a7c15ull) >> shift_) & mask_;
  }
  void Rehash(size_t n) {
    std::vector<Entry> old;
    old.swap(table_);
    table_.assign(n, Entry{});
    mask_ = n - 1;
    shift_ = 64 - __builtin_ctzll(n);
    size_ = 0;
    for (const Entry& e : old) {
      if (e.slot != kNone) Put(e.fp, e.slot);
    }
  }

  std::vector<Entry> table_;
  size_t mask_ = 0;
  int shift_ = 0;
  size_t size_ = 0;
};

}  // namespace backsight

#endif  // BACKSIGHT_CORE_FLAT_INDEX_H_
