#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

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

  // Aligned to 8 bytes: Gumbo's structures hold pointers, sizes and ints only.
  void* allocate(std::size_t size);
  void deallocate(void* p);
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

  void* bump(std::size_t block_size);
  void release_bigs();

  std::vector<chunk> chunks_;
  std::size_t current_ = 0;  // chunk being bumped
  std::size_t used_ = 0;     // bytes used in it
  std::size_t chunk_total_ = 0;
  free_block* free_[classes] = {};
  big_block big_head_{&big_head_, &big_head_, 0, big_class};
  std::size_t big_bytes_ = 0;
};

}  // namespace trawler::extract
