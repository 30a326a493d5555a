#include "extract/gumbo_document.hpp"

namespace trawler::extract {

namespace {

struct thread_arena {
  gumbo_arena arena;
  bool in_use = false;
};

thread_local thread_arena per_thread;

}  // namespace

gumbo_document::gumbo_document(std::string_view utf8) {
  if (per_thread.in_use) {
    own_ = std::make_unique<gumbo_arena>();
    arena_ = own_.get();
  } else {
    per_thread.in_use = true;
    arena_ = &per_thread.arena;
  }
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &gumbo_document::allocate;
  options.deallocator = &gumbo_document::deallocate;
  options.userdata = arena_;
  // Parse errors are of no use to us, and recording them costs time and memory on the
  // broken pages that have thousands.
  options.max_errors = 0;
  output_ = gumbo_parse_with_options(&options, utf8.data(), utf8.size());
}

gumbo_document::~gumbo_document() {
  arena_->reset();
  if (!own_) per_thread.in_use = false;
}

void* gumbo_document::allocate(void* arena, size_t size) {
  return static_cast<gumbo_arena*>(arena)->allocate(size);
}

void gumbo_document::deallocate(void* arena, void* ptr) {
  static_cast<gumbo_arena*>(arena)->deallocate(ptr);
}

}  // namespace trawler::extract
