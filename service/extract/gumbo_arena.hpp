#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TRAWLER_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRAWLER_ARENA_ASAN 1
#endif
#endif
#ifdef TRAWLER_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#endif

// The memory of one Gumbo parse. Gumbo makes tens of thousands of small allocations per page
// (nodes, tokens, attribute vectors, string buffers that grow by doubling) and frees them all
// at the end: through malloc that was a fifth of a page's CPU. Here small blocks come from a
// bump pointer with a free list per size class (16-byte steps up to small_limit), so the
// buffers Gumbo outgrows are reused within the page; big blocks go to malloc. reset() drops
// the whole tree at once, with no walk over it (a deep tree cannot overflow the stack), and
// keeps one chunk for the next page. Internal to the extract module.
namespace trawler::extract {

class gumbo_arena {
 public:
  static constexpr std::size_t small_limit = 2048;
  static constexpr std::size_t chunk_bytes = 256 * 1024;

  gumbo_arena() = default;
  ~gumbo_arena();
  gumbo_arena(const gumbo_arena&) = delete;
  gumbo_arena& operator=(const gumbo_arena&) = delete;

  // Aligned to 8 bytes: Gumbo's structures hold pointers, sizes and ints only. Inline: Gumbo
  // calls these tens of thousands of times per page.
  void* allocate(std::size_t size) {
    if (size > small_limit - 8) return allocate_big(size);
    const std::size_t block_size = (size + 8 + 15) & ~std::size_t{15};
    const std::size_t cls = block_size / 16 - 1;
    void* block;
    if (free_block* f = free_[cls]) {
      unpoison(f, block_size);
      free_[cls] = f->next;
      block = f;
    } else if (!chunks_.empty() && used_ + block_size <= chunks_[current_].size) {
      block = chunks_[current_].data.get() + used_;
      used_ += block_size;
      unpoison(block, block_size);
    } else {
      block = bump(block_size);
    }
    auto* tag = static_cast<std::uint64_t*>(block);
    *tag = cls;
    return tag + 1;
  }
  void deallocate(void* p) {
    if (!p) return;
    auto* tag = static_cast<std::uint64_t*>(p) - 1;
    if (*tag == big_class) return deallocate_big(p);
    const std::size_t cls = static_cast<std::size_t>(*tag);
    auto* f = reinterpret_cast<free_block*>(tag);
    f->next = free_[cls];
    free_[cls] = f;
    poison_free(f, cls);
  }
  // Frees everything allocated since the last reset; keeps the first chunk.
  void reset();

  // Bytes held from the system: chunks plus live big blocks.
  std::size_t reserved() const { return chunk_total_ + big_bytes_; }

 private:
  // Every block starts with 8 bytes: its size class, or big_class with the big header before.
  static constexpr std::uint64_t big_class = ~std::uint64_t{0};
  static constexpr std::size_t classes = small_limit / 16;
  struct big_block {
    big_block* prev;
    big_block* next;
    std::size_t size;
    std::uint64_t tag;  // big_class, directly before the user's bytes
  };
  struct free_block {
    std::uint64_t tag;
    free_block* next;
  };
  struct chunk {
    std::unique_ptr<std::byte[]> data;
    std::size_t size;
  };

  void* bump(std::size_t block_size);  // from a new chunk
  void* allocate_big(std::size_t size);
  void deallocate_big(void* p);
  void release_bigs();
  // Free and unused arena bytes are poisoned, so ASan still sees Gumbo's use after free.
  static void unpoison(void* p, std::size_t n) {
#ifdef TRAWLER_ARENA_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p, (void)n;
#endif
  }
  static void poison(void* p, std::size_t n) {
#ifdef TRAWLER_ARENA_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p, (void)n;
#endif
  }
  static void poison_free(free_block* f, std::size_t cls) {
    poison(reinterpret_cast<std::byte*>(f) + sizeof(free_block),
           (cls + 1) * 16 - sizeof(free_block));
  }

  std::vector<chunk> chunks_;
  std::size_t current_ = 0;  // chunk being bumped
  std::size_t used_ = 0;     // bytes used in it
  std::size_t chunk_total_ = 0;
  free_block* free_[classes] = {};
  big_block big_head_{&big_head_, &big_head_, 0, big_class};
  std::size_t big_bytes_ = 0;
};

}  // namespace trawler::extract
