#pragma once

#include <gumbo.h>

#include <memory>
#include <string_view>

#include "extract/gumbo_arena.hpp"

// Gumbo 0.10 behind RAII. Every allocation of one parse comes from a gumbo_arena and goes in
// one reset, instead of through gumbo_destroy_output(), which frees the tree node by node,
// recursively (260,000 levels from 300,000 "<table><tr><td>" overflowed the stack). Each
// thread reuses one arena from page to page. Internal to the extract module.
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
  static void* allocate(void* arena, size_t size);
  static void deallocate(void* arena, void* ptr);

  // A second document alive on the same thread gets an arena of its own.
  std::unique_ptr<gumbo_arena> own_;
  gumbo_arena* arena_ = nullptr;
  GumboOutput* output_ = nullptr;
};

}  // namespace trawler::extract
