#include "extract/gumbo_arena.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define TRAWLER_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRAWLER_ARENA_ASAN 1
#endif
#endif

#ifdef TRAWLER_ARENA_ASAN
#include <sanitizer/asan_interface.h>
// Free and unused arena bytes are poisoned, so ASan still sees Gumbo's use-after-free.
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace trawler::extract {

gumbo_arena::~gumbo_arena() {
  release_bigs();
  for (auto& c : chunks_) ARENA_UNPOISON(c.data.get(), c.size);
}

void* gumbo_arena::allocate(std::size_t size) {
  if (size <= small_limit - 8) {
    const std::size_t block_size = (size + 8 + 15) & ~std::size_t{15};
    const std::size_t cls = block_size / 16 - 1;
    void* block;
    if (free_block* f = free_[cls]) {
      ARENA_UNPOISON(f, block_size);
      free_[cls] = f->next;
      block = f;
    } else {
      block = bump(block_size);
    }
    auto* tag = static_cast<std::uint64_t*>(block);
    *tag = cls;
    return tag + 1;
  }
  auto* b = static_cast<big_block*>(std::malloc(sizeof(big_block) + size));
  // Gumbo does not check for failure, and an exception cannot unwind through its C frames.
  if (!b) std::abort();
  b->size = size;
  b->tag = big_class;
  b->prev = &big_head_;
  b->next = big_head_.next;
  big_head_.next->prev = b;
  big_head_.next = b;
  big_bytes_ += size;
  return b + 1;
}

void gumbo_arena::deallocate(void* p) {
  if (!p) return;
  auto* tag = static_cast<std::uint64_t*>(p) - 1;
  if (*tag == big_class) {
    auto* b = static_cast<big_block*>(p) - 1;
    b->prev->next = b->next;
    b->next->prev = b->prev;
    big_bytes_ -= b->size;
    std::free(b);
    return;
  }
  const std::size_t cls = static_cast<std::size_t>(*tag);
  auto* f = reinterpret_cast<free_block*>(tag);
  f->next = free_[cls];
  free_[cls] = f;
  ARENA_POISON(reinterpret_cast<std::byte*>(f) + sizeof(free_block),
               (cls + 1) * 16 - sizeof(free_block));
}

void* gumbo_arena::bump(std::size_t block_size) {
  if (chunks_.empty() || used_ + block_size > chunks_[current_].size) {
    if (!chunks_.empty() && current_ + 1 < chunks_.size()) {
      ++current_;
    } else {
      chunk c{std::unique_ptr<std::byte[]>(new std::byte[chunk_bytes]), chunk_bytes};
      ARENA_POISON(c.data.get(), c.size);
      chunk_total_ += c.size;
      chunks_.push_back(std::move(c));
      current_ = chunks_.size() - 1;
    }
    used_ = 0;
  }
  std::byte* block = chunks_[current_].data.get() + used_;
  used_ += block_size;
  ARENA_UNPOISON(block, block_size);
  return block;
}

void gumbo_arena::reset() {
  release_bigs();
  // A page that needed more than one chunk gives the rest back: a huge page once must not
  // hold memory for the life of the thread.
  while (chunks_.size() > 1) {
    ARENA_UNPOISON(chunks_.back().data.get(), chunks_.back().size);
    chunk_total_ -= chunks_.back().size;
    chunks_.pop_back();
  }
  if (!chunks_.empty()) ARENA_POISON(chunks_[0].data.get(), chunks_[0].size);
  std::memset(free_, 0, sizeof free_);
  current_ = 0;
  used_ = 0;
}

void gumbo_arena::release_bigs() {
  for (big_block* b = big_head_.next; b != &big_head_;) {
    big_block* next = b->next;
    std::free(b);
    b = next;
  }
  big_head_.prev = big_head_.next = &big_head_;
  big_bytes_ = 0;
}

}  // namespace trawler::extract
