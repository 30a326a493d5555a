#include "extract/gumbo_arena.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "extract/extract.hpp"
#include "extract/gumbo_document.hpp"

namespace {

using trawler::extract::gumbo_arena;

bool aligned8(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 8 == 0;
}

TEST(GumboArena, BlocksAreAlignedAndDoNotOverlap) {
  gumbo_arena arena;
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::size_t size = 1 + (i * 37) % 5000;  // small and big
    auto* p = static_cast<unsigned char*>(arena.allocate(size));
    ASSERT_TRUE(aligned8(p)) << size;
    std::memset(p, static_cast<int>(i & 0xff), size);
    blocks.emplace_back(p, size);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto [p, size] = blocks[i];
    for (std::size_t k = 0; k < size; ++k)
      ASSERT_EQ(p[k], static_cast<unsigned char>(i & 0xff)) << "block " << i << " overwritten";
  }
}

TEST(GumboArena, FreedSmallBlocksAreReusedBySameSizeClass) {
  gumbo_arena arena;
  void* a = arena.allocate(100);
  void* b = arena.allocate(100);
  arena.deallocate(a);
  EXPECT_EQ(arena.allocate(97), a);  // same 16-byte class
  EXPECT_NE(arena.allocate(100), b);
  void* c = arena.allocate(300);
  arena.deallocate(c);
  EXPECT_NE(arena.allocate(100), c);  // another class does not take it
  arena.deallocate(nullptr);          // Gumbo may free a null pointer
}

TEST(GumboArena, BigBlocksAreReturnedAtOnceAndResetKeepsOneChunk) {
  gumbo_arena arena;
  void* big = arena.allocate(1 << 20);
  EXPECT_GE(arena.reserved(), std::size_t{1} << 20);
  arena.deallocate(big);
  EXPECT_LT(arena.reserved(), std::size_t{1} << 20);
  for (int i = 0; i < 5000; ++i) arena.allocate(1000);  // ~5 MB of small blocks: many chunks
  arena.allocate(3 << 20);
  EXPECT_GE(arena.reserved(), std::size_t{8} << 20);
  arena.reset();
  EXPECT_EQ(arena.reserved(), gumbo_arena::chunk_bytes);
  void* again = arena.allocate(64);
  EXPECT_TRUE(aligned8(again));
}

#if defined(__SANITIZE_ADDRESS__)
// The arena poisons what is free, so ASan builds still catch a use after free inside Gumbo.
TEST(GumboArenaDeathTest, UseAfterFreeIsReportedUnderAsan) {
  EXPECT_DEATH(
      {
        gumbo_arena arena;
        auto* p = static_cast<volatile char*>(arena.allocate(200));
        arena.deallocate(const_cast<char*>(p));
        p[100] = 1;
      },
      "use-after-poison");
}
#endif

TEST(GumboArena, DocumentsNestedOnOneThreadKeepTheirOwnTrees) {
  const std::string outer_html = "<title>outer</title><p>one<p>two";
  const std::string inner_html = "<title>inner</title><ul><li>a<li>b</ul>";
  trawler::extract::gumbo_document outer(outer_html);
  {
    trawler::extract::gumbo_document inner(inner_html);
    ASSERT_NE(inner.document(), nullptr);
    EXPECT_EQ(inner.document()->type, GUMBO_NODE_DOCUMENT);
  }
  // The outer tree is intact after the inner document went.
  const GumboNode* html =
      static_cast<const GumboNode*>(outer.document()->v.document.children.data[0]);
  ASSERT_EQ(html->type, GUMBO_NODE_ELEMENT);
  EXPECT_EQ(html->v.element.tag, GUMBO_TAG_HTML);
  const GumboNode* body = static_cast<const GumboNode*>(html->v.element.children.data[1]);
  EXPECT_EQ(body->v.element.tag, GUMBO_TAG_BODY);
  EXPECT_EQ(body->v.element.children.length, 2u);  // two <p>
}

TEST(GumboArena, ManyPagesInARowParseTheSame) {
  std::string page = "<html><head><title>t</title></head><body>";
  for (int i = 0; i < 400; ++i)
    page += "<div class=c" + std::to_string(i) + "><a href=\"/p" + std::to_string(i) +
            "\">link &amp; text</a></div>";
  page += "</body></html>";
  trawler::extract::options opt;
  const auto first = trawler::extract::extract_html(page, "http://a.test/", std::nullopt, opt);
  ASSERT_EQ(first.links.size(), 400u);
  for (int round = 0; round < 50; ++round) {
    const auto again = trawler::extract::extract_html(page, "http://a.test/", std::nullopt, opt);
    ASSERT_EQ(again.links.size(), first.links.size());
    EXPECT_EQ(again.links.back().url, first.links.back().url);
    EXPECT_EQ(again.title, first.title);
  }
}

}  // namespace
