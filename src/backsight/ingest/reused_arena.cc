#include "backsight/ingest/reused_arena.h"

namespace backsight::ingest::internal {

ReusedArena::ReusedArena(ArenaBlock* block) : block_(block) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block->data.get();
  options.initial_block_size = block->size;
  arena_.emplace(options);
}

ReusedArena::~ReusedArena() {
  const size_t used = arena_->SpaceAllocated();
  arena_.reset();  // the arena is gone: the block may be replaced
  if (used > block_->size && used <= kMaxKeptArenaBlockBytes) {
    block_->data = std::make_unique_for_overwrite<char[]>(used);
    block_->size = used;
  }
}

}  // namespace backsight::ingest::internal
