// SegmentTrie: a flat, arena-backed trie of path segments for the API templater (infer.h).
// Nodes live in one vector and are linked parent -> first child -> next sibling; one
// open-addressing table maps (parent, segment) to the child, and segment bytes live in one
// arena, so adding a path allocates nothing once the vectors have grown.
#ifndef BACKSIGHT_ANALYZE_API_INFER_TRIE_H_
#define BACKSIGHT_ANALYZE_API_INFER_TRIE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backsight::api {

/// Trie of path segments. Node 0 is the root ("/"). Not thread-safe.
class SegmentTrie {
 public:
  static constexpr uint32_t kRoot = 0;
  static constexpr uint32_t kNone = UINT32_MAX;

  SegmentTrie();

  /// The child of `parent` named `seg`, added if absent.
  uint32_t Child(uint32_t parent, std::string_view seg);

  std::string_view segment(uint32_t n) const {
    return std::string_view(arena_).substr(nodes_[n].seg_off, nodes_[n].seg_len);
  }
  uint32_t first_child(uint32_t n) const { return nodes_[n].first_child; }
  uint32_t next_sibling(uint32_t n) const { return nodes_[n].next_sibling; }
  /// Requests counted through the node (see AddHit).
  uint64_t hits(uint32_t n) const { return nodes_[n].hits; }
  void AddHit(uint32_t n) { ++nodes_[n].hits; }
  /// A caller-owned slot per node (kNone until set): ApiInferrer keeps its per-method counts'
  /// index there.
  uint32_t payload(uint32_t n) const { return nodes_[n].payload; }
  void set_payload(uint32_t n, uint32_t v) { nodes_[n].payload = v; }
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    uint64_t hits = 0;
    uint32_t parent = kNone, first_child = kNone, next_sibling = kNone, payload = kNone;
    uint64_t seg_off = 0;
    uint32_t seg_len = 0;
    uint32_t hash = 0;
  };
  static uint32_t Hash(uint32_t parent, std::string_view seg);
  void Grow();

  std::vector<Node> nodes_;
  std::vector<uint32_t> slots_;  // node ids, kNone = empty; size a power of two, load <= 1/2
  std::string arena_;            // segment bytes
};

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_INFER_TRIE_H_
