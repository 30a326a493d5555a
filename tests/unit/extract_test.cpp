#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "extract/extract.hpp"
#include "extract/nesting_guard.hpp"
#include "record/utf8.hpp"

namespace {

using namespace trawler::extract;

const std::string page = "http://example.com/dir/page.html";
const std::string fffd = "\xEF\xBF\xBD";

page_facts run(std::string_view html, std::string_view url = page,
               std::optional<std::string_view> header_charset = std::nullopt,
               const options& opt = {}) {
  return extract_html(html, url, header_charset, opt);
}

page_facts run_with(std::string_view html, const options& opt) {
  return extract_html(html, page, std::nullopt, opt);
}

std::vector<std::string> urls(const page_facts& f) {
  std::vector<std::string> out;
  for (const auto& l : f.links) out.push_back(l.url);
  return out;
}

using strings = std::vector<std::string>;

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(TRAWLER_TEST_DATA_DIR) + "/html/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------- link sources

TEST(ExtractLinks, EveryElementKind) {
  const auto f = run(R"(<html><head>
      <link rel="stylesheet" href="/style.css">
      <meta http-equiv="refresh" content="5; url=/refreshed">
    </head><body>
      <a href="/a">a</a>
      <map name="m"><area href="/area" alt=""></map>
      <iframe src="/iframe"></iframe>
      <img src="/img.png"><script src="/script.js"></script>
    </body></html>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/style.css", "http://example.com/refreshed",
                              "http://example.com/a", "http://example.com/area",
                              "http://example.com/iframe"}));
  for (const auto& l : f.links) EXPECT_TRUE(l.follow) << l.url;
}

TEST(ExtractLinks, FramesetFrames) {
  const auto f = run(R"(<html><frameset cols="50%,50%"><frame src="left.html">
      <frame src="right.html"></frameset></html>)");
  EXPECT_EQ(urls(f),
            (strings{"http://example.com/dir/left.html", "http://example.com/dir/right.html"}));
}

TEST(ExtractLinks, LinkElementsOfEveryRel) {
  const auto f = run(R"(<link rel="alternate" href="/alt"><link rel="icon" href="/i.ico">
      <link rel="preload" href="/p.js"><link href="/norel"><link rel="canonical" href="/c">)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/alt", "http://example.com/i.ico",
                              "http://example.com/p.js", "http://example.com/norel",
                              "http://example.com/c"}));
}

TEST(ExtractLinks, ElementsWithoutTheAttributeAreSkipped) {
  const auto f = run(R"(<a name="top">x</a><a>y</a><iframe></iframe><link rel="x">
      <area alt=""><a href="/only">z</a>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/only"}));
}

TEST(ExtractLinks, RelativeForms) {
  const auto f = run(R"(<a href="sibling.html">1</a><a href="../up">2</a><a href="/root">3</a>
      <a href="?q=1">4</a><a href="//cdn.example.net/x">5</a><a href="https://Other.Example:443/Y">6</a>
      <a href="">7</a><a href=" /spaced ">8</a>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/dir/sibling.html", "http://example.com/up",
                              "http://example.com/root", "http://example.com/dir/page.html?q=1",
                              "http://cdn.example.net/x", "https://other.example/Y",
                              "http://example.com/dir/page.html", "http://example.com/spaced"}));
}

TEST(ExtractLinks, OnlyHttpAndHttpsKept) {
  const auto f = run(R"h(<a href="javascript:alert(1)">j</a><a href="JavaScript:void(0)">j</a>
      <a href="mailto:a@example.com">m</a><a href="data:text/html,hi">d</a>
      <a href="ftp://example.com/f">f</a><a href="tel:+123">t</a><a href="about:blank">b</a>
      <iframe src="about:blank"></iframe><a href="https://ok.example/">ok</a>)h");
  EXPECT_EQ(urls(f), (strings{"https://ok.example/"}));
}

TEST(ExtractLinks, FragmentRemovedAndDuplicatesMerged) {
  const auto f = run(R"(<a href="#top">top</a><a href="/p#a">1</a><a href="/q">2</a>
      <a href="/p#b">3</a><a href="http://example.com/p">4</a><a href="/q">5</a>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/dir/page.html", "http://example.com/p",
                              "http://example.com/q"}));
}

TEST(ExtractLinks, EntitiesInAttributesAreDecoded) {
  const auto f = run(R"(<a href="?a=1&amp;b=2">1</a><a href="/x&#x2F;y&#47;z">2</a>
      <a href="/s?q=a&lt;b">3</a><a href="/e?x=1&copy=2">4</a>)");
  EXPECT_EQ(urls(f),
            (strings{"http://example.com/dir/page.html?a=1&b=2", "http://example.com/x/y/z",
                     "http://example.com/s?q=a%3Cb", "http://example.com/e?x=1&copy=2"}));
}

TEST(ExtractLinks, NonAsciiHrefIsPercentEncoded) {
  const auto f = run("<a href=\"/caf\xC3\xA9\">x</a>");
  EXPECT_EQ(urls(f), (strings{"http://example.com/caf%C3%A9"}));
}

TEST(ExtractLinks, LinksAfterScriptAndInsideCommentsOrScriptsIgnored) {
  const auto f = run(R"(<script>document.write('<a href="/in-script">x</a>')</script>
      <!-- <a href="/in-comment">x</a> --><style>a[href="/in-style"]{}</style>
      <textarea><a href="/in-textarea"></a></textarea><a href="/real">r</a>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/real"}));
}

// ---------------------------------------------------------------- base href

TEST(ExtractBase, RelativeBaseResolvedAgainstPage) {
  const auto f = run(R"(<head><base href="/other/"></head><a href="x">x</a><a href="/abs">y</a>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/other/x", "http://example.com/abs"}));
}

TEST(ExtractBase, AbsoluteBase) {
  const auto f = run(R"(<base href="https://cdn.example.org/root/index.html">
      <a href="x">x</a><a href="?q">q</a><a href="//h2.example/z">z</a>)");
  EXPECT_EQ(urls(f),
            (strings{"https://cdn.example.org/root/x", "https://cdn.example.org/root/index.html?q",
                     "https://h2.example/z"}));
}

TEST(ExtractBase, FirstBaseWithHrefWinsAndAppliesToEarlierLinks) {
  const auto f = run(R"(<a href="early">e</a><base target="_blank"><base href="/one/">
      <base href="/two/"><a href="late">l</a>)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/one/early", "http://example.com/one/late"}));
}

TEST(ExtractBase, UnusableBaseFallsBackToThePage) {
  for (const char* base : {"javascript:void(0)", "data:text/html,x", "mailto:x@example.com"}) {
    const auto f = run(std::string("<base href=\"") + base + "\"><a href=\"x\">x</a>");
    EXPECT_EQ(urls(f), (strings{"http://example.com/dir/x"})) << base;
  }
}

TEST(ExtractBase, BaseAlsoAppliesToCanonicalFramesAndRefresh) {
  const auto f = run(R"(<base href="http://b.example/d/"><link rel=canonical href="c">
      <meta http-equiv="refresh" content="0;url=r"><iframe src="i"></iframe>)");
  EXPECT_EQ(f.canonical, "http://b.example/d/c");
  EXPECT_EQ(urls(f),
            (strings{"http://b.example/d/c", "http://b.example/d/r", "http://b.example/d/i"}));
}

// ---------------------------------------------------------------- nofollow

TEST(ExtractNofollow, PerLinkRelTokens) {
  const auto f = run(R"(<a href="/1" rel="nofollow">1</a><a href="/2" rel="NoFollow noopener">2</a>
      <a href="/3" rel="noopener">3</a><a href="/4" rel="nofollowed">4</a>
      <a href="/5" rel=" noreferrer
        nofollow ">5</a><area href="/6" rel="nofollow"><link rel="nofollow" href="/7">
      <a href="/8" rel="ugc,nofollow">8</a>)");
  ASSERT_EQ(f.links.size(), 8u);
  const bool expected[] = {false, false, true, true, false, false, false, true};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(f.links[i].follow, expected[i]) << f.links[i].url;
  EXPECT_FALSE(f.page_nofollow);
}

TEST(ExtractNofollow, MetaRobotsNofollowAppliesToEveryLink) {
  for (const char* content : {"nofollow", "noindex, nofollow", "NOFOLLOW", "none", "None"}) {
    const auto f = run(std::string("<meta name=\"robots\" content=\"") + content +
                       "\"><a href=\"/a\">a</a><iframe src=\"/i\"></iframe>");
    EXPECT_TRUE(f.page_nofollow) << content;
    ASSERT_EQ(f.links.size(), 2u);
    for (const auto& l : f.links) EXPECT_FALSE(l.follow) << content;
  }
}

TEST(ExtractNofollow, MetaRobotsAfterTheLinksStillCounts) {
  const auto f = run(R"(<body><a href="/a">a</a><meta name="robots" content="nofollow"></body>)");
  ASSERT_EQ(f.links.size(), 1u);
  EXPECT_FALSE(f.links[0].follow);
}

TEST(ExtractNofollow, OtherRobotsValuesDoNotBlockFollowing) {
  const auto f = run(R"(<meta name="robots" content="noindex, noarchive">
      <meta name="googlebot" content="nofollow"><a href="/a">a</a>)");
  EXPECT_FALSE(f.page_nofollow);
  ASSERT_EQ(f.links.size(), 1u);
  EXPECT_TRUE(f.links[0].follow);
}

TEST(ExtractNofollow, FollowNofollowOption) {
  options opt;
  opt.follow_nofollow = true;
  const auto f = run_with(R"(<meta name=robots content=nofollow>
      <a href="/1" rel="nofollow">1</a><a href="/2">2</a>)",
                          opt);
  EXPECT_TRUE(f.page_nofollow);  // still reported
  ASSERT_EQ(f.links.size(), 2u);
  EXPECT_TRUE(f.links[0].follow);
  EXPECT_TRUE(f.links[1].follow);
}

TEST(ExtractNofollow, RepeatedUrlIsFollowableIfAnyOccurrenceIs) {
  const auto f = run(R"(<a href="/x" rel="nofollow">1</a><a href="/y">2</a><a href="/x">3</a>
      <a href="/y" rel="nofollow">4</a><a href="/z" rel="nofollow">5</a><a href="/z#f" rel=nofollow>6</a>)");
  EXPECT_EQ(urls(f),
            (strings{"http://example.com/x", "http://example.com/y", "http://example.com/z"}));
  EXPECT_TRUE(f.links[0].follow);   // nofollow first, followable later: keeps its place
  EXPECT_TRUE(f.links[1].follow);   // followable first stays followable
  EXPECT_FALSE(f.links[2].follow);  // nofollow everywhere
}

// ---------------------------------------------------------------- meta refresh

TEST(ExtractRefresh, ContentForms) {
  struct c {
    const char* content;
    std::optional<std::string_view> url;
  };
  const c cases[] = {
      {"5; url=/a", "/a"},
      {"0;URL=/b", "/b"},
      {"3 ; url = \"/c d\" ", "/c d"},
      {"3;url='/e'trailing", "/e"},
      {"5, url=/f", "/f"},
      {"5 /g", "/g"},
      {"5;/h", "/h"},
      {"  7.5; url=/i", "/i"},
      {".5; url=/j", "/j"},
      {"5; url='/k", "/k"},
      {"5; urlx", "urlx"},
      {"5; u", "u"},
      {"5; url", "url"},
      {"5; URL = 'http://x.example/'", "http://x.example/"},
      {"5", std::nullopt},
      {"5;", std::nullopt},
      {"5; url=", std::nullopt},
      {"5; url=''", std::nullopt},
      {"url=/x", std::nullopt},
      {"", std::nullopt},
      {"abc", std::nullopt},
      {"5x; url=/y", std::nullopt},
  };
  for (const auto& t : cases) EXPECT_EQ(refresh_url(t.content), t.url) << t.content;
}

TEST(ExtractRefresh, ThroughTheParser) {
  const auto f = run(R"(<meta http-equiv="Refresh" content="0; URL='/next?a=1&amp;b=2'">
      <meta http-equiv="refresh" content="10">
      <meta http-equiv="content-type" content="text/html; url=/nope">
      <meta name="refresh" content="0; url=/nope2">)");
  EXPECT_EQ(urls(f), (strings{"http://example.com/next?a=1&b=2"}));
}

// ---------------------------------------------------------------- title

TEST(ExtractTitle, CollapsedAndTrimmed) {
  EXPECT_EQ(run("<title>  Hello \n\t  World  </title>").title, "Hello World");
  EXPECT_EQ(run("<title>Fish &amp; Chips &lt;3</title>").title, "Fish & Chips <3");
  EXPECT_EQ(run("<title><b>not bold</b></title>").title, "<b>not bold</b>");
  EXPECT_EQ(run("<title>caf\xC3\xA9\xC2\xA0"
                "bar</title>")
                .title,
            "caf\xC3\xA9\xC2\xA0"
            "bar");
}

TEST(ExtractTitle, EmptyOrAbsentIsNull) {
  EXPECT_EQ(run("<title></title>").title, std::nullopt);
  EXPECT_EQ(run("<title> \n\t </title>").title, std::nullopt);
  EXPECT_EQ(run("<html><body>no title</body></html>").title, std::nullopt);
  EXPECT_EQ(run("").title, std::nullopt);
}

TEST(ExtractTitle, FirstTitleWinsAndSvgTitlesDoNotCount) {
  EXPECT_EQ(
      run("<body><svg><title>icon</title></svg><title>Real</title><title>Second</title>").title,
      "Real");
  EXPECT_EQ(run("<title></title><title>Second</title>").title, std::nullopt);
}

TEST(ExtractTitle, TitleInBodyStillCounts) {
  EXPECT_EQ(run("<body><p>text</p><title>Late</title></body>").title, "Late");
}

// ---------------------------------------------------------------- charset

TEST(ExtractCharset, DefaultIsUtf8) {
  const auto f = run("<title>caf\xC3\xA9</title>");
  EXPECT_EQ(f.charset, "utf-8");
  EXPECT_EQ(f.title, "caf\xC3\xA9");
}

TEST(ExtractCharset, MetaCharsetOverDefault) {
  const auto f = run("<meta charset=\"ISO-8859-1\"><title>caf\xE9 \x80</title>");
  EXPECT_EQ(f.charset, "windows-1252");
  EXPECT_EQ(f.title, "caf\xC3\xA9 \xE2\x82\xAC");
}

TEST(ExtractCharset, HttpEquivContentType) {
  const auto f =
      run("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\">"
          "<title>\xF0\xD2\xC9\xD7\xC5\xD4</title>");
  EXPECT_EQ(f.charset, "koi8-r");
  EXPECT_EQ(f.title, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // Привет
}

TEST(ExtractCharset, HeaderOverMeta) {
  const std::string html = "<meta charset=\"koi8-r\"><title>caf\xE9</title>";
  const auto f = run(html, page, std::string_view("latin1"));
  EXPECT_EQ(f.charset, "windows-1252");
  EXPECT_EQ(f.title, "caf\xC3\xA9");
}

TEST(ExtractCharset, UnknownHeaderLabelFallsBackToMeta) {
  const auto f = run("<meta charset=\"windows-1251\"><title>\xCF\xF0\xE8\xE2\xE5\xF2</title>", page,
                     std::string_view("x-bogus-charset"));
  EXPECT_EQ(f.charset, "windows-1251");
  EXPECT_EQ(f.title, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
}

TEST(ExtractCharset, BomOverridesHeaderAndMeta) {
  const auto f = run("\xEF\xBB\xBF<meta charset=\"windows-1252\"><title>caf\xC3\xA9</title>", page,
                     std::string_view("iso-8859-2"));
  EXPECT_EQ(f.charset, "utf-8");
  EXPECT_EQ(f.title, "caf\xC3\xA9");
}

TEST(ExtractCharset, Utf16WithBom) {
  const std::string ascii = "<title>Hi</title><a href=\"/u16\">x</a>";
  std::string le = "\xFF\xFE";
  std::string be = "\xFE\xFF";
  for (char c : ascii) {
    le += c;
    le += '\0';
    be += '\0';
    be += c;
  }
  for (const auto& body : {le, be}) {
    const auto f = run(body);
    EXPECT_EQ(f.charset, body == le ? "utf-16le" : "utf-16be");
    EXPECT_EQ(f.title, "Hi");
    EXPECT_EQ(urls(f), (strings{"http://example.com/u16"}));
  }
}

TEST(ExtractCharset, MetaDeclaringUtf16MeansUtf8) {
  const auto f = run("<meta charset=\"utf-16\"><title>caf\xC3\xA9</title>");
  EXPECT_EQ(f.charset, "utf-8");
  EXPECT_EQ(f.title, "caf\xC3\xA9");
}

TEST(ExtractCharset, MetaBeyondTheFirst1024BytesIsNotSeen) {
  const std::string html = "<!--" + std::string(1100, 'x') +
                           "--><meta charset=\"koi8-r\">"
                           "<title>caf\xC3\xA9</title>";
  const auto f = run(html);
  EXPECT_EQ(f.charset, "utf-8");
}

TEST(ExtractCharset, Windows1252Body) {
  // 0x80-0x9F are the Windows characters, not C1 controls.
  const auto f = run("<title>\x93quoted\x94 \x80 5 \x96 na\xEFve</title>", page,
                     std::string_view("windows-1252"));
  EXPECT_EQ(f.title, "\xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x82\xAC 5 \xE2\x80\x93 na\xC3\xAFve");
}

TEST(ExtractCharset, Iso88591LabelIsWindows1252) {
  const auto f = run("<title>\xC0 la carte \x85</title>", page, std::string_view("ISO-8859-1"));
  EXPECT_EQ(f.charset, "windows-1252");
  EXPECT_EQ(f.title, "\xC3\x80 la carte \xE2\x80\xA6");
}

TEST(ExtractCharset, ShiftJisBody) {
  const std::string body =
      "<html><head><meta charset=\"Shift_JIS\"><title>\x93\xFA\x96\x7B\x8C\xEA</title></head>"
      "<body><a href=\"/\x93\xFA\">x</a></body></html>";
  const auto f = run(body);
  EXPECT_EQ(f.charset, "shift_jis");
  EXPECT_EQ(f.title, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");  // 日本語
  EXPECT_EQ(urls(f), (strings{"http://example.com/%E6%97%A5"}));
}

TEST(ExtractCharset, OtherLegacyEncodings) {
  struct c {
    const char* label;
    std::string bytes;
    std::string utf8;
  };
  const c cases[] = {
      {"euc-jp", "\xC6\xFC\xCB\xDC\xB8\xEC", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"},
      {"iso-2022-jp", "\x1B$BF|K\\8l\x1B(B", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"},
      {"gb2312", "\xD6\xD0\xCE\xC4", "\xE4\xB8\xAD\xE6\x96\x87"},  // 中文
      {"big5", "\xA4\xA4\xA4\xE5", "\xE4\xB8\xAD\xE6\x96\x87"},
      {"euc-kr", "\xC7\xD1\xB1\xB9\xBE\xEE", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"},  // 한국어
      {"koi8-r", "\xF0\xD2\xC9\xD7\xC5\xD4", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
  };
  for (const auto& t : cases) {
    const auto f = run("<title>" + t.bytes + "</title>", page, std::string_view(t.label));
    EXPECT_EQ(f.title, t.utf8) << t.label;
  }
}

TEST(ExtractCharset, InvalidUtf8IsRepaired) {
  const auto f = run("<title>bad \xFF byte \xE2\x82</title><a href=\"/p\xC3\">x</a>");
  EXPECT_EQ(f.charset, "utf-8");
  EXPECT_EQ(f.title, "bad " + fffd + " byte " + fffd);
  EXPECT_EQ(urls(f), (strings{"http://example.com/p%EF%BF%BD"}));
}

TEST(ExtractCharset, InvalidBytesInLegacyEncodingsAreReplacedNotDropped) {
  // 0x81 0x20 is no Shift_JIS character: one U+FFFD, and the space and the rest survive.
  const auto f = run("<title>a\x81 b \x93\xFA</title>", page, std::string_view("shift_jis"));
  EXPECT_EQ(f.title, "a" + fffd + " b \xE6\x97\xA5");
}

// ---------------------------------------------------------------- charset helpers

TEST(CharsetHelpers, CanonicalNames) {
  struct c {
    const char* label;
    std::optional<std::string> name;
  };
  const c cases[] = {
      {"utf-8", "utf-8"},
      {"UTF-8", "utf-8"},
      {"utf8", "utf-8"},
      {" utf-8\n", "utf-8"},
      {"unicode-1-1-utf-8", "utf-8"},
      {"latin1", "windows-1252"},
      {"ISO-8859-1", "windows-1252"},
      {"ascii", "windows-1252"},
      {"US-ASCII", "windows-1252"},
      {"cp1252", "windows-1252"},
      {"iso-8859-15", "iso-8859-15"},
      {"l9", "iso-8859-15"},
      {"iso-8859-9", "windows-1254"},
      {"tis-620", "windows-874"},
      {"sjis", "shift_jis"},
      {"Shift_JIS", "shift_jis"},
      {"windows-31j", "shift_jis"},
      {"gb2312", "gbk"},
      {"GBK", "gbk"},
      {"gb18030", "gb18030"},
      {"big5-hkscs", "big5"},
      {"ks_c_5601-1987", "euc-kr"},
      {"iso-2022-kr", "replacement"},
      {"hz-gb-2312", "replacement"},
      {"utf-16", "utf-16le"},
      {"unicodefffe", "utf-16be"},
      {"x-user-defined", "x-user-defined"},
      {"koi8-ru", "koi8-u"},
      {"x-mac-ukrainian", "x-mac-cyrillic"},
      {"cseucpkdfmtjapanese", "euc-jp"},
      {"", std::nullopt},
      {"   ", std::nullopt},
      {"utf-9", std::nullopt},
      {"utf-8x", std::nullopt},
      {"latin-1", std::nullopt},
      {"x-bogus", std::nullopt},
      {"a-label-much-longer-than-any-real-one", std::nullopt},
  };
  for (const auto& t : cases) EXPECT_EQ(canonical_charset(t.label), t.name) << t.label;
}

TEST(CharsetHelpers, SniffBom) {
  EXPECT_EQ(sniff_bom("\xEF\xBB\xBFx")->charset, "utf-8");
  EXPECT_EQ(sniff_bom("\xEF\xBB\xBFx")->length, 3u);
  EXPECT_EQ(sniff_bom("\xFE\xFF")->charset, "utf-16be");
  EXPECT_EQ(sniff_bom("\xFF\xFE\x00\x00")->charset, "utf-16le");
  EXPECT_FALSE(sniff_bom("\xEF\xBB"));
  EXPECT_FALSE(sniff_bom("<html>"));
  EXPECT_FALSE(sniff_bom(""));
}

TEST(CharsetHelpers, PrescanForms) {
  struct c {
    std::string html;
    std::optional<std::string> charset;
  };
  const c cases[] = {
      {"<meta charset=utf-8>", "utf-8"},
      {"<META CHARSET=\"Windows-1251\">", "windows-1251"},
      {"<meta charset='latin1'/>", "windows-1252"},
      {"<meta\ncharset = koi8-r >", "koi8-r"},
      {"<meta/charset=euc-jp>", "euc-jp"},
      {"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">", "shift_jis"},
      {"<meta content=\"text/html;charset='gbk'\" http-equiv=content-type>", "gbk"},
      {"<meta content=\"text/html; charset=gbk\">", std::nullopt},  // no pragma
      {"<meta http-equiv=\"refresh\" content=\"text/html; charset=gbk\">", std::nullopt},
      {"<meta http-equiv=content-type content=\"text/html\">", std::nullopt},
      {"<meta charset=\"bogus\"><meta charset=\"big5\">", "big5"},
      {"<meta charset=utf-16le>", "utf-8"},
      {"<meta charset=x-user-defined>", "windows-1252"},
      {"<meta charset=\"koi8-r\" charset=\"big5\">", "koi8-r"},  // repeated attribute ignored
      {"<!-- <meta charset=\"koi8-r\"> --><meta charset=\"big5\">", "big5"},
      {"<div title='<meta charset=koi8-r>'><meta charset=\"big5\">", "big5"},
      {"<metadata charset=koi8-r><meta charset=big5>", "big5"},
      {"<p>no meta at all</p>", std::nullopt},
      {"<meta charset=\"koi8-r", std::nullopt},  // cut off inside the tag
      {"\xEF\xBB\xBF<meta charset=koi8-r>", "utf-8"},
      {"", std::nullopt},
  };
  for (const auto& t : cases) EXPECT_EQ(sniff_meta_charset(t.html), t.charset) << t.html;
}

TEST(CharsetHelpers, DecodeToUtf8) {
  EXPECT_EQ(decode_to_utf8("abc", "utf-8"), "abc");
  EXPECT_EQ(decode_to_utf8("a\xC0\x80", "utf-8"), "a" + fffd + fffd);
  // 0x81 is one of the five bytes WHATWG maps to the C1 control of the same number.
  EXPECT_EQ(decode_to_utf8("\x80\x81\x9F\xA0\xFF", "windows-1252"),
            "\xE2\x82\xAC\xC2\x81\xC5\xB8\xC2\xA0\xC3\xBF");
  EXPECT_EQ(decode_to_utf8("a\x80\xFF", "x-user-defined"), "a\xEF\x9E\x80\xEF\x9F\xBF");
  EXPECT_EQ(decode_to_utf8("anything", "replacement"), fffd);
  EXPECT_EQ(decode_to_utf8("", "replacement"), "");
  EXPECT_EQ(decode_to_utf8(std::string_view("h\0i\0", 4), "utf-16le"), "hi");
  EXPECT_EQ(decode_to_utf8(std::string_view("\0h\0i", 4), "utf-16be"), "hi");
  EXPECT_EQ(decode_to_utf8(std::string_view("\xD8\x3D\xDE\x00", 4), "utf-16be"),
            "\xF0\x9F\x98\x80");  // a surrogate pair
  EXPECT_EQ(decode_to_utf8(std::string_view("\xD8\x3D\x00x", 4), "utf-16be"), fffd + "x");
  EXPECT_EQ(decode_to_utf8(std::string_view("h\0i", 3), "utf-16le"), "h" + fffd);
  EXPECT_EQ(decode_to_utf8("\xCF\xF0\xE8", "windows-1251"), "\xD0\x9F\xD1\x80\xD0\xB8");
  EXPECT_EQ(decode_to_utf8("\xA4", "iso-8859-15"), "\xE2\x82\xAC");
  EXPECT_EQ(decode_to_utf8("x\x93", "shift_jis"), "x" + fffd);  // truncated at the end
  EXPECT_EQ(decode_to_utf8("caf\xC3\xA9", "no-such-encoding"), "caf\xC3\xA9");
  const std::string big(300000, '\xE9');  // output larger than the first buffer guess
  std::string expected;
  for (int i = 0; i < 300000; ++i) expected += "\xC3\xA9";
  EXPECT_EQ(decode_to_utf8(big, "iso-8859-2"), expected);
}

// ---------------------------------------------------------------- canonical, meta robots

TEST(ExtractCanonical, ResolvedFirstCanonical) {
  const auto f = run(R"(<link rel="Canonical" href="/c1#frag"><link rel="canonical" href="/c2">)");
  EXPECT_EQ(f.canonical, "http://example.com/c1");
  EXPECT_EQ(urls(f), (strings{"http://example.com/c1", "http://example.com/c2"}));
}

TEST(ExtractCanonical, AbsentOrUnusable) {
  EXPECT_EQ(run("<a rel=canonical href=/x>x</a>").canonical, std::nullopt);
  EXPECT_EQ(run("<link rel=canonical>").canonical, std::nullopt);
  EXPECT_EQ(run("<link rel=canonical href=\"javascript:x\">").canonical, std::nullopt);
  EXPECT_EQ(run("<p>nothing</p>").canonical, std::nullopt);
}

TEST(ExtractMetaRobots, Tokens) {
  const auto f = run(R"(<meta name="ROBOTS" content="NoIndex,  NoFollow ,noarchive">
      <meta name="robots" content="noindex max-snippet:50"><meta name="description" content="x">)");
  EXPECT_EQ(f.meta_robots, (strings{"noindex", "nofollow", "noarchive", "max-snippet:50"}));
  EXPECT_TRUE(f.page_nofollow);
  EXPECT_TRUE(run("<p>x</p>").meta_robots.empty());
  EXPECT_TRUE(run("<meta name=robots content=\"\">").meta_robots.empty());
}

// ---------------------------------------------------------------- visible text

TEST(ExtractText, OnlyWhenWanted) {
  EXPECT_EQ(run("<p>Hello</p>").text, "");
  options opt;
  opt.want_text = true;
  EXPECT_EQ(run_with("<p>Hello</p>", opt).text, "Hello");
}

TEST(ExtractText, VisibleTextExcludesScriptsStylesAndHead) {
  options opt;
  opt.want_text = true;
  const auto f = run_with(R"(<html><head><title>Title text</title><style>p{}</style>
      <script>var x = "script text";</script></head><body>
      <h1>Heading</h1><p>First   para with <b>bold</b>and <a href="/x">a link</a>.</p>
      <script>hidden()</script><noscript>no script</noscript><template><p>tpl</p></template>
      <style>.x{}</style><div>Fish &amp; chips</div><ul><li>one</li><li>two</li></ul>
      line<br>break<table><tr><td>cell1</td><td>cell2</td></tr></table>
      <!-- comment --><textarea>typed</textarea></body></html>)",
                          opt);
  EXPECT_EQ(f.text,
            "Heading First para with boldand a link. Fish & chips one two line break cell1 cell2 "
            "typed");
}

TEST(ExtractText, WhitespaceCollapsed) {
  options opt;
  opt.want_text = true;
  EXPECT_EQ(run_with("  \n<p>\t a \n\n b  </p>  <p> c</p>\n ", opt).text, "a b c");
  EXPECT_EQ(run_with("", opt).text, "");
}

// ---------------------------------------------------------------- robustness

TEST(ExtractRobustness, BrokenHtml) {
  const auto f = run(R"(<html><head><title>Broken</title><body><div><p><a href=/1>one<a href=/2>two
      <table><a href="/3">in table</a><tr><td><a href='/4'>cell</td></tr>
      </b></i></x><p <a href="/5">5</a><a href="/6" <a href="/7">
      <a href = "/8" >eight</a><div class=">"><a href="/9">nine)");
  EXPECT_EQ(f.title, "Broken");
  const auto got = urls(f);
  // Tree order after the parser's repairs: what follows the unclosed <table> is foster-parented
  // before it, so the cell's link comes last. "<p <a href=/5>" is a p with odd attributes, and
  // the first of two href attributes wins.
  EXPECT_EQ(urls(f),
            (strings{"http://example.com/1", "http://example.com/2", "http://example.com/3",
                     "http://example.com/6", "http://example.com/8", "http://example.com/9",
                     "http://example.com/4"}));
}

TEST(ExtractRobustness, UnterminatedConstructs) {
  for (const char* html :
       {"<a href=\"/x", "<a href=", "<!--", "<script>", "<title>t", "<", "<![CDATA[", "</",
        "<a href=\"/y\">&#xFFFFFFFF;&#0;", "<svg><a href=\"/z\"><p></svg>"}) {
    const auto f = run(html);
    EXPECT_EQ(f.charset, "utf-8") << html;
  }
}

TEST(ExtractRobustness, NulBytesAndEmptyBody) {
  const auto f = run(std::string_view("<title>a\0b</title><a href=\"/n\0l\">x</a>", 38));
  EXPECT_EQ(f.title, "a" + fffd + "b");
  EXPECT_EQ(urls(f).size(), 1u);
  const auto empty = run("");
  EXPECT_TRUE(empty.links.empty());
  EXPECT_EQ(empty.charset, "utf-8");
}

TEST(ExtractRobustness, InvalidPageUrlStillKeepsAbsoluteLinks) {
  const auto f =
      run(R"(<a href="relative">r</a><a href="https://abs.example/x">a</a>)", "not a url");
  EXPECT_EQ(urls(f), (strings{"https://abs.example/x"}));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(ExtractRobustness, HundredThousandDeepNesting) {
  for (const char* tag : {"div", "span", "b", "ul", "table"}) {
    std::string html = "<html><head><title>Deep</title></head><body>";
    const std::string open = std::string("<") + tag + " class=\"n\">";
    for (int i = 0; i < 100000; ++i) html += open;
    html += "<a href=\"/bottom\">bottom</a> deep text";
    const std::string close = std::string("</") + tag + ">";
    for (int i = 0; i < 100000; ++i) html += close;
    html += "<a href=\"/after\">after</a>";
    options opt;
    opt.want_text = true;
    const auto start = std::chrono::steady_clock::now();
    const auto f = run_with(html, opt);
    const double secs = seconds_since(start);
    std::cout << "100,000 nested <" << tag << ">: " << secs << " s\n";
    EXPECT_EQ(f.title, "Deep") << tag;
    EXPECT_EQ(urls(f), (strings{"http://example.com/bottom", "http://example.com/after"})) << tag;
    EXPECT_NE(f.text.find("bottom deep text"), std::string::npos) << tag;
    EXPECT_LT(secs, 10.0) << tag;  // without the nesting guard Gumbo takes 13 s on <div>
  }
}

TEST(ExtractRobustness, HostilePatternsStayBounded) {
  // Each of these made Gumbo quadratic (seconds to hours) or overflowed its recursive tree
  // destruction before the nesting guard and the tracked allocations.
  const char* patterns[] = {"<table><tr><td>",       "<b><div></b>",
                            "<a href=\"/l\"><div>",  "<p><b class=1><i class=2><u class=3></p>",
                            "<li><section>",         "<optgroup>",
                            "<b><i><u><s><div></b>", "<button><font>"};
  for (const char* pattern : patterns) {
    std::string html;
    for (int i = 0; i < 50000; ++i) html += pattern;
    html += "<a href=\"/end\">end</a>";
    const auto start = std::chrono::steady_clock::now();
    const auto f = run(html);
    const double secs = seconds_since(start);
    std::cout << "50,000 x " << pattern << ": " << secs << " s\n";
    const auto got = urls(f);
    EXPECT_NE(std::find(got.begin(), got.end(), "http://example.com/end"), got.end()) << pattern;
    EXPECT_LT(secs, 10.0) << pattern;
  }
}

TEST(ExtractRobustness, DeepTreeWithoutTheGuardIsReleasedSafely) {
  // gumbo_destroy_output recurses once per level; 300,000 levels overflowed an 8 MB stack.
  options opt;
  opt.max_nesting = std::numeric_limits<std::size_t>::max();
  std::string html;
  for (int i = 0; i < 300000; ++i) html += "<object>";
  html += "<a href=\"/deep\">deep</a>";
  const auto f = run_with(html, opt);
  EXPECT_EQ(urls(f), (strings{"http://example.com/deep"}));
}

TEST(ExtractRobustness, HundredThousandLinks) {
  std::string html = "<html><head><title>Many</title></head><body>";
  html.reserve(3'500'000);
  for (int i = 0; i < 100000; ++i)
    html +=
        "<a href=\"/p/" + std::to_string(i) + "?x=1&amp;y=2\">link " + std::to_string(i) + "</a>\n";
  const auto start = std::chrono::steady_clock::now();
  const auto f = run(html);
  const double secs = seconds_since(start);
  std::cout << "100,000 links: " << secs << " s\n";
  ASSERT_EQ(f.links.size(), 100000u);
  EXPECT_EQ(f.links.front().url, "http://example.com/p/0?x=1&y=2");
  EXPECT_EQ(f.links[12345].url, "http://example.com/p/12345?x=1&y=2");
  EXPECT_EQ(f.links.back().url, "http://example.com/p/99999?x=1&y=2");
  EXPECT_LT(secs, 5.0);
}

// ---------------------------------------------------------------- nesting guard

TEST(NestingGuard, OrdinaryPagesAreUntouched) {
  EXPECT_TRUE(excess_nesting(read_fixture("article.html"), 512).empty());
  std::string unclosed;  // implied end tags keep these flat
  for (int i = 0; i < 5000; ++i)
    unclosed += "<p>para<li>item<dt>t<dd>d<option>o<tr><td>c<td>d<a href=x>a";
  EXPECT_TRUE(excess_nesting(unclosed, 64).empty());
  std::string svg = "<svg>";
  for (int i = 0; i < 5000; ++i) svg += "<path d=\"M0 0\"/><circle r=1 />";
  svg += "</svg>";
  EXPECT_TRUE(excess_nesting(svg, 64).empty());
  std::string voids;
  for (int i = 0; i < 5000; ++i) voids += "<br><img src=x><input><meta><hr/><div></div>";
  EXPECT_TRUE(excess_nesting(voids, 64).empty());
}

TEST(NestingGuard, ReportsTagsBeyondTheCap) {
  std::string html;
  for (int i = 0; i < 100; ++i) html += "<div title=\"a>b\">";
  const auto excess = excess_nesting(html, 60);
  ASSERT_EQ(excess.size(), 40u);
  const std::string one = "<div title=\"a>b\">";
  EXPECT_EQ(excess.front().begin, 60 * one.size());
  EXPECT_EQ(excess.front().end, 61 * one.size());
  EXPECT_EQ(excess.back().end, html.size());
}

TEST(NestingGuard, IgnoresMarkupInCommentsScriptsAndAttributes) {
  std::string html;
  for (int i = 0; i < 100; ++i)
    html += "<!-- <div> --><script>if (a<b) x='<div>';</script><p title='<div>'>x</p>";
  EXPECT_TRUE(excess_nesting(html, 8).empty());
  std::string raw = "<textarea>";
  for (int i = 0; i < 100; ++i) raw += "<div>";
  raw += "</TEXTAREA>";
  EXPECT_TRUE(excess_nesting(raw, 8).empty());
}

TEST(NestingGuard, LinkTagsAreNeverReported) {
  std::string html;
  for (int i = 0; i < 20; ++i) html += "<div>";
  html += "<a href=/x>x</a><iframe src=/y></iframe><area href=/z><span>s</span>";
  const auto excess = excess_nesting(html, 10);
  ASSERT_EQ(excess.size(), 11u);  // 10 divs and the span
  EXPECT_EQ(std::string_view(html).substr(excess.back().begin, 6), "<span>");
}

TEST(NestingGuard, ClosedElementsFreeTheirDepth) {
  std::string html;
  for (int i = 0; i < 10000; ++i) html += "<div><section><span>x</span></section></DIV>";
  EXPECT_TRUE(excess_nesting(html, 8).empty());
}

// ---------------------------------------------------------------- a realistic page

TEST(ExtractFixture, Article) {
  const std::string html = read_fixture("article.html");
  ASSERT_FALSE(html.empty());
  options opt;
  opt.want_text = true;
  const auto f = extract_html(html, "https://www.example.com/news/2026/article", std::nullopt, opt);
  EXPECT_EQ(f.charset, "utf-8");
  EXPECT_EQ(f.title, "Trawler test article & friends");
  EXPECT_EQ(f.canonical, "https://www.example.com/news/2026/article");
  EXPECT_EQ(f.meta_robots, (strings{"index", "follow", "max-image-preview:large"}));
  EXPECT_FALSE(f.page_nofollow);
  EXPECT_EQ(urls(f), (strings{
                         "https://www.example.com/static/site.css?v=3",
                         "https://www.example.com/news/2026/article",
                         "https://www.example.com/fr/news/2026/article",
                         "https://www.example.com/",
                         "https://www.example.com/news/",
                         "https://other.example.org/partner?ref=trawler&lang=en",
                         "https://www.example.com/news/2026/related.html",
                         "https://www.example.com/ads/click?id=7",
                         "https://www.example.com/noscript-fallback",
                         "https://www.example.com/templated",
                         "https://www.example.com/area-target",
                         "https://video.example.net/embed/42",
                         "https://www.example.com/legal/terms",
                     }));
  for (const auto& l : f.links)
    EXPECT_EQ(l.follow, l.url.find("/ads/") == std::string::npos) << l.url;
  EXPECT_NE(f.text.find("Home | News | Partner Menu Contact"), std::string::npos) << f.text;
  EXPECT_NE(f.text.find("First paragraph with a related link."), std::string::npos) << f.text;
  EXPECT_NE(f.text.find("\xC2\xA9 2026 Example \xE2\x80\x94 Terms"), std::string::npos) << f.text;
  for (const char* hidden : {"document.write", "font:", "Enable JS", "Template", "hidden"})
    EXPECT_EQ(f.text.find(hidden), std::string::npos) << hidden;
}

}  // namespace

namespace {

bool valid_utf8(std::string_view s) {
  return trawler::record::is_valid_utf8(s);
}

// Gumbo 0.10 writes the low byte of a numeric character reference that overflows its int as
// a lone byte; titles, text and meta robots tokens still come out as UTF-8.
TEST(ExtractText, OverflowingCharacterReferencesStayUtf8) {
  options opt;
  opt.want_text = true;
  const auto f = run_with(
      "<title>a &#xBBBBBBBBBBBBBBBBB; b</title>"
      "<meta name=robots content='noindex, x&#x7FFFFFFFFFBB;'>"
      "<p>c &#99999999999999999999; d",
      opt);
  ASSERT_TRUE(f.title);
  EXPECT_TRUE(valid_utf8(*f.title)) << *f.title;
  EXPECT_EQ(f.title->substr(0, 2), "a ");
  EXPECT_TRUE(valid_utf8(f.text)) << f.text;
  for (const auto& t : f.meta_robots) EXPECT_TRUE(valid_utf8(t)) << t;
  EXPECT_EQ(f.meta_robots.front(), "noindex");
}

}  // namespace
