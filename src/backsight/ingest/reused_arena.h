// A protobuf arena whose first block a thread keeps from one request to the next, for the
// protobuf decoders (OTLP traces, metrics, logs): once warm, parsing a request mallocs nothing for
// its message objects. Protobuf arenas: https://protobuf.dev/reference/cpp/arenas/
// (ArenaOptions::initial_block).
#ifndef BACKSIGHT_INGEST_REUSED_ARENA_H_
#define BACKSIGHT_INGEST_REUSED_ARENA_H_

#include <google/protobuf/arena.h>

#include <cstddef>
#include <memory>
#include <optional>

namespace backsight::ingest::internal {

/// Largest first arena block a thread keeps between requests: a typical 2048-span trace request's
/// message tree takes about 1 MiB, so 8 MiB covers large batches without holding the memory of a
/// 64 MiB outlier per server thread (beyond it the arena mallocs further blocks).
inline constexpr size_t kMaxKeptArenaBlockBytes = 8 << 20;

/// A thread's kept first block, sized to the largest message tree seen (up to
/// kMaxKeptArenaBlockBytes). One per decoder and thread: `thread_local ArenaBlock block;`.
struct ArenaBlock {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

/// A protobuf arena starting in `*block`. On destruction (after the arena and every message in
/// it is gone) the block is replaced by one of the size this arena used when that is larger (and
/// at most kMaxKeptArenaBlockBytes), so the next request of that size parses in one block.
class ReusedArena {
 public:
  explicit ReusedArena(ArenaBlock* block);
  ~ReusedArena();
  ReusedArena(const ReusedArena&) = delete;
  ReusedArena& operator=(const ReusedArena&) = delete;

  google::protobuf::Arena* get() { return &*arena_; }

 private:
  ArenaBlock* block_;
  std::optional<google::protobuf::Arena> arena_;
};

}  // namespace backsight::ingest::internal

#endif  // BACKSIGHT_INGEST_REUSED_ARENA_H_
