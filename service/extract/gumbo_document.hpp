#pragma once

#include <gumbo.h>

#include <string_view>

// Gumbo 0.10 behind RAII. Every allocation of one parse is tracked here and released in one
// loop, instead of through gumbo_destroy_output(), which frees the tree recursively and
// overflows the stack on a deep tree (260,000 levels from 300,000 "<table><tr><td>" crashed
// it). Internal to the extract module.
namespace trawler::extract {

class gumbo_document {
 public:
  // utf8 must stay alive as long as the document: nodes point into it.
  explicit gumbo_document(std::string_view utf8);
  ~gumbo_document();
  gumbo_document(const gumbo_document&) = delete;
  gumbo_document& operator=(const gumbo_document&) = delete;

  const GumboNode* document() const { return output_->document; }

 private:
  // Intrusive list header in front of each block; 16 bytes keep malloc's alignment.
  struct alignas(16) block {
    block* prev;
    block* next;
  };
  static void* allocate(void* self, size_t size);
  static void deallocate(void* self, void* ptr);

  block head_{&head_, &head_};  // sentinel of a circular list
  GumboOutput* output_ = nullptr;
};

}  // namespace trawler::extract
