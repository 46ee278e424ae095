#include "backsight/analyze/api/infer_trie.h"

namespace backsight::api {
namespace {

// Initial table size (slots); doubled whenever half full (linear probing stays short below 1/2).
constexpr size_t kInitialSlots = 1024;

}  // namespace

SegmentTrie::SegmentTrie() : slots_(kInitialSlots, kNone) { nodes_.emplace_back(); }

uint32_t SegmentTrie::Hash(uint32_t parent, std::string_view seg) {
  // FNV-1a (Fowler, Noll, Vo) over the parent id and the bytes.
  uint32_t h = 2166136261u;
  for (int i = 0; i < 4; ++i) {
    h ^= (parent >> (8 * i)) & 0xff;
    h *= 16777619u;
  }
  for (char c : seg) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

uint32_t SegmentTrie::Child(uint32_t parent, std::string_view seg) {
  const uint32_t h = Hash(parent, seg);
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] != kNone) {
    const Node& n = nodes_[slots_[i]];
    if (n.hash == h && n.parent == parent && segment(slots_[i]) == seg) return slots_[i];
    i = (i + 1) & mask;
  }
  const uint32_t id = static_cast<uint32_t>(nodes_.size());
  Node n;
  n.parent = parent;
  n.hash = h;
  n.seg_off = arena_.size();
  n.seg_len = static_cast<uint32_t>(seg.size());
  n.next_sibling = nodes_[parent].first_child;
  arena_.append(seg);
  nodes_[parent].first_child = id;
  nodes_.push_back(n);
  slots_[i] = id;
  if (nodes_.size() * 2 > slots_.size()) Grow();
  return id;
}

void SegmentTrie::Grow() {
  std::vector<uint32_t> slots(slots_.size() * 2, kNone);
  const size_t mask = slots.size() - 1;
  for (uint32_t id = 1; id < nodes_.size(); ++id) {
    size_t i = nodes_[id].hash & mask;
    while (slots[i] != kNone) i = (i + 1) & mask;
    slots[i] = id;
  }
  slots_.swap(slots);
}

}  // namespace backsight::api
