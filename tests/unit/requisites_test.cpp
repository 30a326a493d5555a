// Page requisites (SPEC additions "Page requisites"): what a browser loads to show a page, from
// HTML elements, srcset attributes and CSS.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extract/extract.hpp"
#include "extract/requisites.hpp"

namespace {

using namespace trawler::extract;
using strings = std::vector<std::string>;

const std::string page = "http://example.com/dir/page.html";

strings requisites(std::string_view html, std::string_view url = page) {
  options opt;
  opt.want_requisites = true;
  return extract_html(html, url, std::nullopt, opt).requisites;
}

// ---------------------------------------------------------------- srcset (HTML 4.8.4.3.10)

TEST(Srcset, CandidatesWithWidthAndDensityDescriptors) {
  EXPECT_EQ(srcset_urls("a.png 1x, b.png 2x"), (strings{"a.png", "b.png"}));
  EXPECT_EQ(srcset_urls("  small.jpg 480w,\n\tlarge.jpg   1080w  "),
            (strings{"small.jpg", "large.jpg"}));
  EXPECT_EQ(srcset_urls("only.png"), (strings{"only.png"}));
  EXPECT_EQ(srcset_urls(""), strings{});
  EXPECT_EQ(srcset_urls(" , ,, "), strings{});
  EXPECT_EQ(srcset_urls("a.png 1.5x, b.png .5x, c.png 1e1x"), (strings{"a.png", "b.png", "c.png"}));
  EXPECT_EQ(srcset_urls("a.png 100w 50h"), (strings{"a.png"}));
}

TEST(Srcset, CommasInsideUrlsAndTrailingCommas) {
  // A URL runs to whitespace: commas inside it stay, trailing ones end the candidate.
  EXPECT_EQ(srcset_urls("data.png?a=1,2 1x,b.png 2x"), (strings{"data.png?a=1,2", "b.png"}));
  EXPECT_EQ(srcset_urls("a.png,b.png"), (strings{"a.png,b.png"}));
  EXPECT_EQ(srcset_urls("a.png,, b.png"), (strings{"a.png", "b.png"}));
  // A comma right after a descriptor ends the candidate.
  EXPECT_EQ(srcset_urls("a.png 1x,b.png 2x"), (strings{"a.png", "b.png"}));
}

TEST(Srcset, InvalidDescriptorsDropTheCandidateOnly) {
  // Two densities, a zero width, width with density, an unknown descriptor, a negative density,
  // "1.x", a height without width: each candidate is dropped, the others stay.
  EXPECT_EQ(srcset_urls("a.png 1x 2x, b.png 0w, c.png 10w 2x, d.png 2y, e.png -1x, f.png 1.x, "
                        "g.png 50h, h.png 3x"),
            (strings{"h.png"}));
  // Parentheses group a descriptor: the comma inside does not end the candidate.
  EXPECT_EQ(srcset_urls("a.png foo(1,2), b.png 1x"), (strings{"b.png"}));
}

// ---------------------------------------------------------------- CSS references

TEST(CssReferences, UrlForms) {
  EXPECT_EQ(css_references("a{background:url(plain.png)}"), (strings{"plain.png"}));
  EXPECT_EQ(css_references("a{background:url( 'single.png' )}"), (strings{"single.png"}));
  EXPECT_EQ(css_references("a{background:url(\"double.png\")}"), (strings{"double.png"}));
  EXPECT_EQ(css_references("a{background:URL(  spaced.png  )}"), (strings{"spaced.png"}));
  EXPECT_EQ(css_references("a{b:url()} c{d:url('')}"), strings{});
  // A quote or parenthesis inside an unquoted url makes a bad url: nothing is loaded.
  EXPECT_EQ(css_references("a{b:url(x\"y.png)} c{d:url(ok.png)}"), (strings{"ok.png"}));
  EXPECT_EQ(css_references("a{b:url(sp ace.png)} c{d:url(ok.png)}"), (strings{"ok.png"}));
  // A dimension's unit or a hash's name is no function name.
  EXPECT_EQ(css_references("a{b:10url(x.png); c:#url(y.png)}"), strings{});
  // Fragment-only references name part of the document.
  EXPECT_EQ(css_references("a{filter:url(#blur)}"), strings{});
}

TEST(CssReferences, EscapesAreDecoded) {
  EXPECT_EQ(css_references(R"(a{b:url(a\)b.png)})"), (strings{"a)b.png"}));
  EXPECT_EQ(css_references(R"(a{b:url(\61 .png)})"), (strings{"a.png"}));
  EXPECT_EQ(css_references(R"(a{b:url("q\"uote.png")})"), (strings{"q\"uote.png"}));
  EXPECT_EQ(css_references(R"(a{b:u\72l(escaped-name.png)})"), (strings{"escaped-name.png"}));
  EXPECT_EQ(css_references("a{b:url(\"split\\\nline.png\")}"), (strings{"splitline.png"}));
  EXPECT_EQ(css_references(R"(a{b:url(\e9t\E9.png)})"), (strings{"\xC3\xA9t\xC3\xA9.png"}));
  // A string broken by a raw newline is a bad string: not a reference. Here the quote that
  // closed it opens a string that runs to the end, as in a browser.
  EXPECT_EQ(css_references("a{b:url(\"broken\nc.png\")} d{e:url(no.png)}"), strings{});
  EXPECT_EQ(css_references("a{b:\"broken\n} d{e:url(ok.png)}"), (strings{"ok.png"}));
  // url("...") with anything but blanks after the string is invalid.
  EXPECT_EQ(css_references("a{b:url(\"x.png\" y)} c{d:url(\"ok.png\"  )}"), (strings{"ok.png"}));
}

TEST(CssReferences, CommentsAreSkipped) {
  // Inside an unquoted url() "/*" is no comment: the blank after it makes a bad url.
  EXPECT_EQ(css_references("/* url(no.png) */ a{b:url(/*not a comment*/no.png)}"), strings{});
  EXPECT_EQ(css_references("/* @import 'no.css'; */ a{b:/**/url(yes.png)/* url(no.png) */}"),
            (strings{"yes.png"}));
  EXPECT_EQ(css_references("a{b:url(yes.png)} /* unterminated url(no.png)"), (strings{"yes.png"}));
}

TEST(CssReferences, ImportForms) {
  EXPECT_EQ(css_references("@import \"a.css\";\n@import 'b.css' screen;\n@import url(c.css);\n"
                           "@import url('d.css') supports(display: grid);\n"
                           "@IMPORT \"e.css\" layer(base);"),
            (strings{"a.css", "b.css", "c.css", "d.css", "e.css"}));
  // Only the first string of the prelude is the sheet: a string in supports() is not.
  EXPECT_EQ(css_references("@import 'x.css' supports(content: 'y.css');"), (strings{"x.css"}));
  // A string outside url() elsewhere is no reference (content, font names, format()).
  EXPECT_EQ(css_references("a::before{content:'z.png'} @font-face{font-family:'f';"
                           "src:url(f.woff2) format('woff2'), local('g')}"),
            (strings{"f.woff2"}));
}

TEST(CssReferences, NamespaceImageSetAndCdo) {
  EXPECT_EQ(css_references("@namespace svg url(http://www.w3.org/2000/svg); a{b:url(x.png)}"),
            (strings{"x.png"}));
  EXPECT_EQ(css_references("a{b:image-set('a1.png' 1x, url(a2.png) 2x);"
                           "c:-webkit-image-set(\"b1.png\" 1x, 'b2.png' type('image/avif'))}"),
            (strings{"a1.png", "a2.png", "b1.png", "b2.png"}));
  EXPECT_EQ(css_references("<!-- a{b:url(x.png)} -->"), (strings{"x.png"}));
}

TEST(StylesheetRequisites, ResolvedAgainstTheSheetDeduplicatedAndDecoded) {
  const std::string sheet = "https://cdn.example.net/css/site.css";
  EXPECT_EQ(
      stylesheet_requisites("@import 'more.css'; a{b:url(../img/bg.png#x)} "
                            "c{d:url(/img/bg.png)} e{f:url(site.css)} g{h:url(data:x)}",
                            sheet, std::nullopt),
      (strings{"https://cdn.example.net/css/more.css", "https://cdn.example.net/img/bg.png"}));
  // windows-1252 by @charset: the e-acute is decoded, then percent-encoded in the URL.
  EXPECT_EQ(stylesheet_requisites("@charset \"windows-1252\"; a{b:url(caf\xE9.png)}", sheet,
                                  std::nullopt),
            (strings{"https://cdn.example.net/css/caf%C3%A9.png"}));
  // The Content-Type charset wins over @charset.
  EXPECT_EQ(
      stylesheet_requisites("@charset \"windows-1252\"; a{b:url(caf\xC3\xA9.png)}", sheet, "utf-8"),
      (strings{"https://cdn.example.net/css/caf%C3%A9.png"}));
}

// ---------------------------------------------------------------- HTML

TEST(ExtractRequisites, EveryElementKind) {
  const auto got = requisites(R"html(<!doctype html><html><head>
      <link rel="stylesheet" href="/s.css">
      <link rel="alternate" href="/feed.xml">
      <link rel="shortcut icon" href="/favicon.png">
      <link rel="apple-touch-icon" href="/touch.png">
      <link rel="preload" as="font" href="/font.woff2">
      <link rel="canonical" href="/canonical">
      <script src="/app.js"></script>
      <style>@import "inline.css"; body { background: url('bg.png') }</style>
    </head><body background="/body-bg.gif">
      <a href="/not-a-requisite">a</a>
      <img src="img.png" srcset="img-2x.png 2x, img-3x.png 3x">
      <picture><source srcset="p.avif 1x, p2.avif 2x" type="image/avif"><img src="p.png"></picture>
      <video src="/v.mp4" poster="/poster.jpg"><source src="/v.webm"><track src="/subs.vtt"></video>
      <audio src="/a.ogg"></audio>
      <embed src="/e.svg"><object data="/o.pdf"></object>
      <input type="image" src="/button.png"><input type="text" src="/not.png">
      <table background="/t.png"><tr><td background="/td.png">x</td></tr></table>
      <div style="background-image: url(&quot;div.png&quot;)">d</div>
      <iframe src="/frame.html"></iframe>
    </body></html>)html");
  EXPECT_EQ(got, (strings{
                     "http://example.com/s.css",          "http://example.com/favicon.png",
                     "http://example.com/touch.png",      "http://example.com/font.woff2",
                     "http://example.com/app.js",         "http://example.com/dir/inline.css",
                     "http://example.com/dir/bg.png",     "http://example.com/body-bg.gif",
                     "http://example.com/dir/img.png",    "http://example.com/dir/img-2x.png",
                     "http://example.com/dir/img-3x.png", "http://example.com/dir/p.avif",
                     "http://example.com/dir/p2.avif",    "http://example.com/dir/p.png",
                     "http://example.com/v.mp4",          "http://example.com/poster.jpg",
                     "http://example.com/v.webm",         "http://example.com/subs.vtt",
                     "http://example.com/a.ogg",          "http://example.com/e.svg",
                     "http://example.com/o.pdf",          "http://example.com/button.png",
                     "http://example.com/t.png",          "http://example.com/td.png",
                     "http://example.com/dir/div.png",
                 }));
}

TEST(ExtractRequisites, BaseHrefRepeatsEmptyAndUnrendered) {
  const auto got = requisites(R"(<head><base href="https://static.example.org/v2/"></head>
      <img src="a.png"><img src="a.png"><img src=""><img src="  "><img src="#top">
      <img src="data:image/png;base64,AAAA"><img src="javascript:x">
      <noscript><img src="noscript.png"></noscript>
      <template><img src="template.png"></template>
      <img src="https://cdn.example.net/b.png#frag"><img src="https://cdn.example.net/b.png">)");
  EXPECT_EQ(got, (strings{"https://static.example.org/v2/a.png", "https://cdn.example.net/b.png"}));
}

TEST(ExtractRequisites, OffUnlessAsked) {
  const auto f = extract_html("<img src=a.png><link rel=stylesheet href=s.css>", page, std::nullopt,
                              options{});
  EXPECT_TRUE(f.requisites.empty());
  // The stylesheet is a link either way ("links exactly as Chromium finds them").
  ASSERT_EQ(f.links.size(), 1u);
  EXPECT_EQ(f.links[0].url, "http://example.com/dir/s.css");
}

TEST(ExtractRequisites, NofollowDoesNotApply) {
  // Directives are about following links; a browser still loads the page's images.
  EXPECT_EQ(requisites("<meta name=robots content=nofollow><img src=a.png>"),
            (strings{"http://example.com/dir/a.png"}));
}

}  // namespace
