#include "extract/gumbo_arena.hpp"

#include <cstdlib>
#include <cstring>

namespace trawler::extract {

gumbo_arena::~gumbo_arena() {
  release_bigs();
  for (auto& c : chunks_) unpoison(c.data.get(), c.size);
}

void* gumbo_arena::allocate_big(std::size_t size) {
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

void gumbo_arena::deallocate_big(void* p) {
  auto* b = static_cast<big_block*>(p) - 1;
  b->prev->next = b->next;
  b->next->prev = b->prev;
  big_bytes_ -= b->size;
  std::free(b);
}

void* gumbo_arena::bump(std::size_t block_size) {
  chunk c{std::unique_ptr<std::byte[]>(new std::byte[chunk_bytes]), chunk_bytes};
  poison(c.data.get(), c.size);
  chunk_total_ += c.size;
  chunks_.push_back(std::move(c));
  current_ = chunks_.size() - 1;
  std::byte* block = chunks_[current_].data.get();
  used_ = block_size;
  unpoison(block, block_size);
  return block;
}

void gumbo_arena::reset() {
  release_bigs();
  // A page that needed more than one chunk gives the rest back: a huge page once must not
  // hold memory for the life of the thread.
  while (chunks_.size() > 1) {
    unpoison(chunks_.back().data.get(), chunks_.back().size);
    chunk_total_ -= chunks_.back().size;
    chunks_.pop_back();
  }
  if (!chunks_.empty()) poison(chunks_[0].data.get(), chunks_[0].size);
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
