#include "extract/gumbo_document.hpp"

#include <cstdlib>
#include <new>

namespace trawler::extract {

gumbo_document::gumbo_document(std::string_view utf8) {
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &gumbo_document::allocate;
  options.deallocator = &gumbo_document::deallocate;
  options.userdata = this;
  // Parse errors are of no use to us, and recording them costs time and memory on the
  // broken pages that have thousands.
  options.max_errors = 0;
  output_ = gumbo_parse_with_options(&options, utf8.data(), utf8.size());
}

gumbo_document::~gumbo_document() {
  for (block* b = head_.next; b != &head_;) {
    block* next = b->next;
    std::free(b);
    b = next;
  }
}

void* gumbo_document::allocate(void* self, size_t size) {
  auto* doc = static_cast<gumbo_document*>(self);
  auto* b = static_cast<block*>(std::malloc(sizeof(block) + size));
  // Gumbo does not check for failure; an exception cannot unwind through its C frames.
  if (!b) std::abort();
  b->prev = &doc->head_;
  b->next = doc->head_.next;
  doc->head_.next->prev = b;
  doc->head_.next = b;
  return b + 1;
}

void gumbo_document::deallocate(void*, void* ptr) {
  if (!ptr) return;
  block* b = static_cast<block*>(ptr) - 1;
  b->prev->next = b->next;
  b->next->prev = b->prev;
  std::free(b);
}

}  // namespace trawler::extract
