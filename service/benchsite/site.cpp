#include "benchsite/site.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace trawler::benchsite {
namespace {

// splitmix64: reproducible everywhere (std distributions differ between standard libraries).
class splitmix {
 public:
  explicit splitmix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool one_in(std::uint64_t n) { return below(n) == 0; }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Exponential of mean `mean`.
  double exponential(double mean) { return -std::log1p(-unit()) * mean; }

 private:
  std::uint64_t state_;
};

// A stream of its own for each (page, purpose): changing one option of the change model does
// not move the draws of another.
splitmix stream(std::uint64_t seed, std::uint64_t page, std::uint64_t purpose) {
  splitmix s(seed ^ (page * 0x9e3779b97f4a7c15ull) ^ (purpose * 0xc2b2ae3d27d4eb4full));
  return splitmix(s.next());
}
enum : std::uint64_t {
  purpose_class = 1,
  purpose_changes,
  purpose_delete,
  purpose_flaps,
  purpose_births,
  purpose_text,
  purpose_nonce
};

// Up to a whole simulated second.
sim_ms ceil_second(double t) {
  return static_cast<sim_ms>(std::ceil(t / 1000.0)) * 1000;
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, 1970-01-01 = 0).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> day_names = {"Thu", "Fri", "Sat", "Sun",
                                                       "Mon", "Tue", "Wed"};  // from 1970-01-01

int month_of(std::string_view m) {
  for (std::size_t i = 0; i < month_names.size(); ++i)
    if (m == month_names[i]) return static_cast<int>(i) + 1;
  return 0;
}

bool digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  out = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// "08:49:37"
bool clock_of(std::string_view s, int& h, int& m, int& sec) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && digits(s.substr(0, 2), h) &&
         digits(s.substr(3, 2), m) && digits(s.substr(6, 2), sec) && h < 24 && m < 60 && sec <= 60;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An entity-tag without its weakness indicator.
std::string_view opaque_tag(std::string_view tag) {
  return tag.starts_with("W/") ? tag.substr(2) : tag;
}

constexpr std::size_t max_listed_new_pages = 200;

constexpr std::array<std::string_view, 48> words = {
    "crawler", "harbour", "net",    "boat",    "tide",    "anchor", "sail",  "current",
    "depth",   "signal",  "link",   "page",    "archive", "index",  "river", "lantern",
    "compass", "chart",   "island", "weather", "rope",    "deck",   "wave",  "keel",
    "the",     "of",      "and",    "a",       "to",      "in",     "is",    "for",
    "with",    "on",      "that",   "by",      "from",    "at",     "café",  "naïve",
    "résumé",  "über",    "straße", "météo",   "coöp",    "façade", "año",   "déjà"};

constexpr int filler_count = 16;
constexpr std::size_t nav_links = 6;
constexpr std::size_t lead_links = 2;

void append_words(std::string& out, splitmix& rng, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    if (k) out += ' ';
    out += words[rng.below(words.size())];
  }
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// Text with the inline markup, attributes and entities of real pages: Gumbo's cost depends
// on the tag and attribute density as much as on the byte count (this mix parses at about
// 13 MB/s, as the pages of the reference site do).
void append_sentence_run(std::string& out, splitmix& rng, std::size_t approx_bytes) {
  const std::size_t end = out.size() + approx_bytes;
  while (out.size() < end) {
    append_words(out, rng, 2 + rng.below(5));
    switch (rng.below(10)) {
      case 0:
        out += " <em>";
        append_words(out, rng, 1 + rng.below(3));
        out += "</em>";
        break;
      case 1:
        out += " <strong class=\"hl\">";
        append_words(out, rng, 1 + rng.below(2));
        out += "</strong>";
        break;
      case 2:
        out += " <code class=\"inline\">";
        append_words(out, rng, 1);
        out += "_";
        append_number(out, rng.below(100));
        out += "()</code>";
        break;
      case 3:
        out += " <span class=\"note tone-";
        append_number(out, rng.below(5));
        out += "\" data-ref=\"n";
        append_number(out, rng.below(1000));
        out += "\">";
        append_words(out, rng, 1 + rng.below(3));
        out += "</span>";
        break;
      case 4:
        out += " <i class=\"icon icon-";
        out += words[rng.below(24)];
        out += "\" aria-hidden=\"true\"></i>";
        break;
      case 5:
        out += " <abbr title=\"";
        append_words(out, rng, 3);
        out += "\">";
        out += words[rng.below(24)];
        out += "</abbr>";
        break;
      case 6:
        out += " <time datetime=\"2024-0";
        append_number(out, 1 + rng.below(9));
        out += "-1";
        append_number(out, rng.below(10));
        out += "\">";
        append_number(out, 1 + rng.below(28));
        out += " May</time>";
        break;
      case 7:
        out += rng.one_in(2) ? " &amp;" : " &#8212;";
        break;
      default:
        break;
    }
    out += rng.one_in(3) ? ". " : ", ";
  }
}

// One filler article: block elements (sections, paragraphs, lists, tables, quotes) until
// `bytes`, with the offset after each one recorded so pages can take a whole-element prefix.
std::string make_filler(std::uint64_t seed, std::size_t bytes, std::vector<std::size_t>& cuts) {
  splitmix rng(seed);
  std::string html;
  html.reserve(bytes + 2048);
  int section = 0;
  while (html.size() < bytes) {
    switch (rng.below(10)) {
      case 0:
        html += "<h2 id=\"s";
        append_number(html, static_cast<std::uint64_t>(section++));
        html += "\">";
        append_words(html, rng, 2 + rng.below(4));
        html += "</h2>\n";
        break;
      case 1: {
        html += "<ul class=\"points\">\n";
        const std::uint64_t items = 3 + rng.below(4);
        for (std::uint64_t k = 0; k < items; ++k) {
          html += "<li>";
          append_sentence_run(html, rng, 40 + rng.below(80));
          html += "</li>\n";
        }
        html += "</ul>\n";
        break;
      }
      case 2: {
        html +=
            "<table class=\"data\">\n<thead><tr><th>Name</th><th>Depth</th><th>Tide</th>"
            "<th>Notes</th></tr></thead>\n<tbody>\n";
        const std::uint64_t rows = 3 + rng.below(4);
        for (std::uint64_t r = 0; r < rows; ++r) {
          html += "<tr><td>";
          append_words(html, rng, 1);
          html += "</td><td class=\"num\">";
          append_number(html, rng.below(5000));
          html += "</td><td class=\"num\">";
          append_number(html, rng.below(90));
          html += ".";
          append_number(html, rng.below(10));
          html += "</td><td>";
          append_words(html, rng, 2 + rng.below(4));
          html += "</td></tr>\n";
        }
        html += "</tbody>\n</table>\n";
        break;
      }
      case 3:
        html += "<blockquote><p>";
        append_sentence_run(html, rng, 120 + rng.below(200));
        html += "</p></blockquote>\n";
        break;
      case 4:
        html +=
            "<div class=\"row\"><div class=\"col col-md-8\"><div class=\"card\">"
            "<div class=\"card-body\"><p class=\"card-text\">";
        append_sentence_run(html, rng, 150 + rng.below(250));
        html += "</p></div></div></div></div>\n";
        break;
      default:
        html += "<p>";
        append_sentence_run(html, rng, 250 + rng.below(450));
        html += "</p>\n";
        break;
    }
    cuts.push_back(html.size());
  }
  return html;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Entity-escapes '&' for an attribute value (query strings have them).
void append_attr(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
}

std::string_view dir_of(std::string_view target) {
  if (target.find('?') != std::string_view::npos) return "/";
  return target.substr(0, target.rfind('/') + 1);
}

// The document-relative reference from a page in `from_dir` to `target`.
std::string relative(std::string_view from_dir, std::string_view target) {
  if (from_dir == "/") return target == "/" ? std::string("./") : std::string(target.substr(1));
  if (target.starts_with(from_dir)) return std::string(target.substr(from_dir.size()));
  return "../" + std::string(target.substr(1));
}

}  // namespace

site::site(site_options opt) : opt_(opt) {
  if (opt_.pages < 1) throw std::invalid_argument("pages must be at least 1");
  if (opt_.hosts < 1 || opt_.hosts > opt_.pages) {
    throw std::invalid_argument("hosts must be from 1 to the number of pages");
  }
  if (opt_.links < 0) throw std::invalid_argument("links must not be negative");
  const change_options& c = opt_.changes;
  int total = opt_.pages;
  if (c.enabled) {
    auto share = [](double v) { return v >= 0 && v <= 1; };
    if (!share(c.hourly) || !share(c.daily) || !share(c.weekly) || !share(c.churn) ||
        c.hourly + c.daily + c.weekly + c.churn > 1 + 1e-9) {
      throw std::invalid_argument("class shares must be from 0 to 1 and add up to at most 1");
    }
    if (!share(c.deleted) || !share(c.flapping)) {
      throw std::invalid_argument("deleted and flapping shares must be from 0 to 1");
    }
    if (!(c.horizon_days > 0 && c.horizon_days <= 36500)) {
      throw std::invalid_argument("horizon_days must be above 0 and at most 36500");
    }
    if (!(c.flap_every_days > 0) || !(c.flap_min_minutes >= 0) ||
        !(c.flap_max_minutes >= c.flap_min_minutes)) {
      throw std::invalid_argument("flaps need every_days > 0 and 0 <= min_minutes <= max_minutes");
    }
    if (c.new_pages < 0 || c.new_pages > 10000000) {
      throw std::invalid_argument("new_pages must be from 0 to 10000000");
    }
    if (c.hosts.empty()) throw std::invalid_argument("the validator modes of hosts are empty");
    total += c.new_pages;
  }

  pages_.resize(static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) {
    const int local = i / opt_.hosts;
    std::string& t = pages_[static_cast<std::size_t>(i)].target;
    if (local == 0) {
      t = "/";
    } else if (i >= opt_.pages) {
      t = "/news/n" + std::to_string(local) + ".html";  // the change model's new pages
    } else if (local % 10 == 3) {
      // A tenth of the pages have a query of two parameters: their links need "&amp;".
      t = "/catalog?section=" + std::to_string(local % 17) + "&item=" + std::to_string(local);
    } else {
      t = "/s" + std::to_string(local % 8) + "/p" + std::to_string(local) + ".html";
    }
  }
  index_.resize(static_cast<std::size_t>(opt_.hosts));
  for (auto& m : index_) m.reserve(static_cast<std::size_t>(total / opt_.hosts + 1));
  for (int i = 0; i < total; ++i) {
    index_[static_cast<std::size_t>(host_of(i))].emplace(target(i), i);
  }

  fillers_.resize(filler_count);
  for (int f = 0; f < filler_count; ++f) {
    auto& fl = fillers_[static_cast<std::size_t>(f)];
    fl.html =
        make_filler(opt_.seed * 7919 + static_cast<std::uint64_t>(f), opt_.page_bytes, fl.cuts);
  }
  for (int i = 0; i < total; ++i) render(i);
  if (c.enabled) build_model();
}

std::string site::host_name(int host) {
  return "host" + std::to_string(host) + ".bench";
}

std::string site::origin(int host) const {
  std::string o = "http://" + host_name(host);
  if (opt_.port != 80) o += ":" + std::to_string(opt_.port);
  return o;
}

std::string site::url(int page) const {
  return origin(host_of(page)) + target(page);
}

std::vector<std::string> site::ground_truth() const {
  std::vector<std::string> out;
  out.reserve(pages_.size());
  for (int i = 0; i < opt_.pages; ++i) out.push_back(url(i));
  return out;
}

int site::host_index(std::string_view host_header) const {
  if (host_header.empty() || host_header.front() == '[') return 0;
  std::string_view name = host_header.substr(0, host_header.rfind(':'));
  if (name.ends_with('.')) name.remove_suffix(1);
  const std::string lower = lowercase(name);
  std::string_view n = lower;
  if (!n.starts_with("host") || !n.ends_with(".bench")) return 0;
  n = n.substr(4, n.size() - 4 - 6);
  int k = 0;
  const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), k);
  if (ec != std::errc() || end != n.data() + n.size() || n.empty() || k >= opt_.hosts) return 0;
  return k;
}

int site::find(int host, std::string_view target) const {
  if (host < 0 || host >= opt_.hosts) return -1;
  const auto& m = index_[static_cast<std::size_t>(host)];
  const auto it = m.find(target);
  return it == m.end() ? -1 : it->second;
}

std::array<std::string_view, 3> site::body(int page) const {
  const auto& p = pages_[static_cast<std::size_t>(page)];
  const auto& f = fillers_[p.filler];
  return {p.head, std::string_view(f.html).substr(0, p.filler_size), p.tail};
}

std::size_t site::body_size(int page) const {
  const auto& p = pages_[static_cast<std::size_t>(page)];
  return p.head.size() + p.filler_size + p.tail.size();
}

std::string site::body_string(int page) const {
  std::string out;
  out.reserve(body_size(page));
  for (const auto piece : body(page)) out += piece;
  return out;
}

std::string_view site::robots_txt() {
  return "User-agent: *\nDisallow:\n";
}

std::string site::href(int from, int to, std::uint64_t style) const {
  const std::string& t = target(to);
  // Links to another host can only be absolute.
  if (host_of(from) != host_of(to) || style % 5 == 1) return origin(host_of(to)) + t;
  switch (style % 5) {
    case 0:
      return t;
    case 2:
      return relative(dir_of(target(from)), t);
    case 3: {
      std::string r = relative(dir_of(target(from)), t);
      return r.starts_with("../") || r == "./" ? r : "./" + r;
    }
    default:  // with a fragment, which a crawler must drop
      return t + "#sec" + std::to_string(style % 7);
  }
}

void site::render(int i) {
  splitmix rng(opt_.seed * 0x100000001b3ull + static_cast<std::uint64_t>(i));
  page& p = pages_[static_cast<std::size_t>(i)];
  const int n = opt_.pages;
  const int h = host_of(i);
  const int on_host = (n - h + opt_.hosts - 1) / opt_.hosts;

  // The spanning tree first (children, parent: every page reachable from page 0), then the
  // host's home page, then random pages, three in four on the same host. The change model's new
  // pages (i >= n) link only to pages that are there from the start.
  std::vector<int> to;
  to.reserve(static_cast<std::size_t>(opt_.links) + 3);
  for (const int child : {2 * i + 1, 2 * i + 2}) {
    if (child < n) to.push_back(child);
  }
  if (i > 0 && (i - 1) / 2 < n) to.push_back((i - 1) / 2);
  to.push_back(h);
  while (static_cast<int>(to.size()) < opt_.links) {
    if (rng.below(4) != 0) {
      to.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(on_host))) * opt_.hosts +
                   h);
    } else {
      to.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(n))));
    }
  }
  to.resize(static_cast<std::size_t>(opt_.links));

  auto anchor = [&](std::string& out, int target_page, std::string_view cls) {
    out += "<a";
    if (!cls.empty()) {
      out += " class=\"";
      out += cls;
      out += '"';
    }
    out += " href=\"";
    append_attr(out, href(i, target_page, rng.next()));
    out += "\">";
    append_words(out, rng, 1 + rng.below(3));
    out += ' ';
    append_number(out, static_cast<std::uint64_t>(target_page));
    out += "</a>";
  };

  std::string title;
  title += "Notes on ";
  append_words(title, rng, 2);
  title += " &amp; ";
  append_words(title, rng, 2);
  title += " \xE2\x80\x94 page ";
  append_number(title, static_cast<std::uint64_t>(i));

  std::string& head = p.head;
  head.reserve(2048 + to.size() * 32);
  head +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  head += title;
  head += "</title>\n<link rel=\"canonical\" href=\"";
  append_attr(head, url(i));
  head +=
      "\">\n<meta name=\"description\" content=\"A generated page of the trawler benchmark "
      "site.\">\n<style>body{font-family:sans-serif;max-width:60em;margin:0 auto}"
      "nav ul{list-style:none;display:flex;gap:1em}.note{color:#555}</style>\n"
      "<script>window.dataLayer=window.dataLayer||[];dataLayer.push({page:";
  append_number(head, static_cast<std::uint64_t>(i));
  head +=
      "});</script>\n</head>\n<body>\n<header id=\"top\" class=\"site-header\">\n"
      "<div class=\"brand\">Bench site <span class=\"host\">";
  head += host_name(h);
  head += "</span></div>\n<nav class=\"site-nav\"><ul>\n";
  std::size_t k = 0;
  for (; k < std::min(nav_links, to.size()); ++k) {
    head += "<li>";
    anchor(head, to[k], "nav");
    head += "</li>\n";
  }
  head += "</ul></nav>\n</header>\n<main>\n<article>\n<h1>";
  head += title;
  head += "</h1>\n<p class=\"lead\">";
  append_sentence_run(head, rng, 80);
  for (const std::size_t end = std::min(k + lead_links, to.size()); k < end; ++k) {
    head += ' ';
    anchor(head, to[k], "");
    head += ',';
  }
  head += " and more.</p>\n<div class=\"content\">\n";

  std::string& tail = p.tail;
  tail.reserve(1024 + to.size() * 96);
  tail += "</div>\n</article>\n<aside class=\"related\">\n<h2>Related pages</h2>\n<ul>\n";
  for (; k < to.size(); ++k) {
    tail += "<li>";
    anchor(tail, to[k], "");
    tail += " <small>";
    append_words(tail, rng, 2 + rng.below(4));
    tail += "</small></li>\n";
  }
  tail +=
      "</ul>\n</aside>\n</main>\n<footer>\n<p>Generated for benchmarks. "
      "<a href=\"#top\">Back to top</a> &middot; "
      "<a href=\"mailto:webmaster@example.invalid\">Contact</a></p>\n</footer>\n"
      "</body>\n</html>\n";

  // The filler fills the page up to page_bytes with whole elements.
  p.filler = static_cast<std::uint32_t>(rng.below(fillers_.size()));
  const auto& f = fillers_[p.filler];
  const std::size_t own = head.size() + tail.size();
  const std::size_t want = opt_.page_bytes > own ? opt_.page_bytes - own : 0;
  const auto it = std::upper_bound(f.cuts.begin(), f.cuts.end(), want);
  p.filler_size = it == f.cuts.begin() ? 0 : static_cast<std::uint32_t>(*std::prev(it));
}

// --- The change model.

std::string_view class_name(page_class c) {
  switch (c) {
    case page_class::hub:
      return "hub";
    case page_class::hourly:
      return "hourly";
    case page_class::daily:
      return "daily";
    case page_class::weekly:
      return "weekly";
    case page_class::never:
      return "never";
    case page_class::churn:
      return "churn";
  }
  return "never";
}

sim_ms mean_change_interval(page_class c) {
  switch (c) {
    case page_class::hourly:
      return sim_day / 24;
    case page_class::daily:
      return sim_day;
    case page_class::weekly:
      return 7 * sim_day;
    default:
      return 0;
  }
}

std::string_view validator_mode_name(validator_mode m) {
  switch (m) {
    case validator_mode::both:
      return "both";
    case validator_mode::etag:
      return "etag";
    case validator_mode::last_modified:
      return "last-modified";
    case validator_mode::none:
      return "none";
    case validator_mode::ignore:
      return "ignore";
  }
  return "none";
}

std::optional<validator_mode> parse_validator_mode(std::string_view name) {
  for (const auto m : {validator_mode::both, validator_mode::etag, validator_mode::last_modified,
                       validator_mode::none, validator_mode::ignore}) {
    if (name == validator_mode_name(m)) return m;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_http_date(std::string_view s) {
  s = trim(s);
  int day = 0, month = 0, year = 0, h = 0, m = 0, sec = 0;
  const auto comma = s.find(',');
  if (comma == 3 && s.size() == 29) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s.substr(25) != " GMT" ||
        !digits(s.substr(5, 2), day) || !digits(s.substr(12, 4), year) ||
        !clock_of(s.substr(17, 8), h, m, sec)) {
      return std::nullopt;
    }
    month = month_of(s.substr(8, 3));
  } else if (comma != std::string_view::npos && comma >= 6 && s.size() == comma + 24) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year is 1970-2069.
    const std::string_view r = s.substr(comma + 1);
    if (r[0] != ' ' || r[3] != '-' || r[7] != '-' || r[10] != ' ' || r.substr(19) != " GMT" ||
        !digits(r.substr(1, 2), day) || !digits(r.substr(8, 2), year) ||
        !clock_of(r.substr(11, 8), h, m, sec)) {
      return std::nullopt;
    }
    year += year >= 70 ? 1900 : 2000;
    month = month_of(r.substr(4, 3));
  } else if (comma == std::string_view::npos && s.size() == 24) {
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' ||
        !digits(s[8] == ' ' ? s.substr(9, 1) : s.substr(8, 2), day) ||
        !digits(s.substr(20, 4), year) || !clock_of(s.substr(11, 8), h, m, sec)) {
      return std::nullopt;
    }
    month = month_of(s.substr(4, 3));
  } else {
    return std::nullopt;
  }
  if (month == 0 || day < 1 || day > 31) return std::nullopt;
  if (sec == 60) sec = 59;  // a leap second
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         h * 3600 + m * 60 + sec;
}

std::string http_date(std::int64_t unix_seconds) {
  const std::int64_t days = (unix_seconds >= 0 ? unix_seconds : unix_seconds - 86399) / 86400;
  const std::int64_t secs = unix_seconds - days * 86400;
  std::int64_t y = 0;
  unsigned mo = 0, d = 0;
  civil_from_days(days, y, mo, d);
  auto two = [](std::string& out, std::int64_t v) {
    out += static_cast<char>('0' + v / 10);
    out += static_cast<char>('0' + v % 10);
  };
  std::string out;
  out += day_names[static_cast<std::size_t>(((days % 7) + 7) % 7)];
  out += ", ";
  two(out, d);
  out += ' ';
  out += month_names[mo - 1];
  out += ' ';
  append_number(out, static_cast<std::uint64_t>(y));
  out += ' ';
  two(out, secs / 3600);
  out += ':';
  two(out, secs / 60 % 60);
  out += ':';
  two(out, secs % 60);
  out += " GMT";
  return out;
}

bool if_none_match_matches(std::string_view if_none_match, std::string_view etag) {
  std::string_view v = trim(if_none_match);
  if (v == "*") return true;
  const std::string_view want = opaque_tag(etag);
  if (want.empty()) return false;
  while (!v.empty()) {
    while (!v.empty() && (v.front() == ',' || v.front() == ' ' || v.front() == '\t')) {
      v.remove_prefix(1);
    }
    if (v.starts_with("W/")) v.remove_prefix(2);
    if (v.empty()) break;
    if (v.front() != '"') {  // not an entity-tag: skip to the next member
      const auto next = v.find(',');
      if (next == std::string_view::npos) break;
      v.remove_prefix(next);
      continue;
    }
    const auto close = v.find('"', 1);
    if (close == std::string_view::npos) break;
    if (v.substr(0, close + 1) == want) return true;
    v.remove_prefix(close + 1);
  }
  return false;
}

void site::build_model() {
  const change_options& c = opt_.changes;
  const int total = total_pages();
  const double horizon = c.horizon_days * static_cast<double>(sim_day);
  models_.assign(static_cast<std::size_t>(total), model{});
  new_on_host_.assign(static_cast<std::size_t>(opt_.hosts), {});

  // The new pages appear at uniform random times of the horizon, in the order of their indexes,
  // a whole simulated second apart at least.
  {
    splitmix rng = stream(opt_.seed, 0, purpose_births);
    std::vector<double> at(static_cast<std::size_t>(c.new_pages));
    for (double& t : at) t = rng.unit() * horizon;
    std::sort(at.begin(), at.end());
    sim_ms last = 0;
    for (int k = 0; k < c.new_pages; ++k) {
      const int page = opt_.pages + k;
      last = std::max(ceil_second(at[static_cast<std::size_t>(k)]), last + 1000);
      models_[static_cast<std::size_t>(page)].born = last;
      new_on_host_[static_cast<std::size_t>(host_of(page))].push_back(page);
    }
  }

  for (int i = 0; i < total; ++i) {
    model& m = models_[static_cast<std::size_t>(i)];
    if (i < opt_.hosts) {
      // A host's front page: a new version with each new page of its host; never gone.
      m.cls = page_class::hub;
      for (const int p : new_on_host_[static_cast<std::size_t>(i)]) {
        m.changes.push_back(models_[static_cast<std::size_t>(p)].born);
      }
      continue;
    }
    const auto page = static_cast<std::uint64_t>(i);
    {
      splitmix rng = stream(opt_.seed, page, purpose_class);
      const double r = rng.unit();
      m.cls = r < c.hourly                                  ? page_class::hourly
              : r < c.hourly + c.daily                      ? page_class::daily
              : r < c.hourly + c.daily + c.weekly           ? page_class::weekly
              : r < c.hourly + c.daily + c.weekly + c.churn ? page_class::churn
                                                            : page_class::never;
    }
    const double start = static_cast<double>(std::max<sim_ms>(m.born, 0));
    {
      splitmix rng = stream(opt_.seed, page, purpose_delete);
      if (rng.unit() < c.deleted) {
        m.deleted = std::max(ceil_second(start + rng.unit() * (horizon - start)),
                             static_cast<sim_ms>(start) + 1000);
        m.deleted_status = rng.one_in(2) ? 410 : 404;
      }
    }
    const double end = std::min(horizon, static_cast<double>(m.deleted));
    if (const sim_ms mean = mean_change_interval(m.cls); mean > 0) {
      splitmix rng = stream(opt_.seed, page, purpose_changes);
      for (double t = start + rng.exponential(static_cast<double>(mean)); t < end;
           t += rng.exponential(static_cast<double>(mean))) {
        const sim_ms at = ceil_second(t);
        if (at >= m.deleted) break;
        if (m.changes.empty() || at > m.changes.back()) m.changes.push_back(at);
      }
    }
    {
      splitmix rng = stream(opt_.seed, page, purpose_flaps);
      if (rng.unit() < c.flapping) {
        const double every = c.flap_every_days * static_cast<double>(sim_day);
        for (double t = start + rng.exponential(every); t < end; t += rng.exponential(every)) {
          const double minutes =
              c.flap_min_minutes + rng.unit() * (c.flap_max_minutes - c.flap_min_minutes);
          const sim_ms from = ceil_second(t);
          const sim_ms to =
              std::min(from + std::max<sim_ms>(ceil_second(minutes * 60000.0), 1000), m.deleted);
          if (from >= to || (!m.flaps.empty() && from <= m.flaps.back().second)) continue;
          m.flaps.emplace_back(from, to);
          t = static_cast<double>(to);
        }
      }
    }
  }
}

page_class site::class_of(int page) const {
  return changing() ? models_[static_cast<std::size_t>(page)].cls : page_class::never;
}

validator_mode site::validators_of(int host) const {
  const auto& modes = opt_.changes.hosts;
  return modes.empty() ? validator_mode::none
                       : modes[static_cast<std::size_t>(host) % modes.size()];
}

sim_ms site::born(int page) const {
  return changing() ? models_[static_cast<std::size_t>(page)].born : -sim_day;
}

sim_ms site::deleted_at(int page) const {
  return changing() ? models_[static_cast<std::size_t>(page)].deleted : sim_never;
}

int site::deleted_status(int page) const {
  return changing() ? models_[static_cast<std::size_t>(page)].deleted_status : 404;
}

const std::vector<sim_ms>& site::changes(int page) const {
  static const std::vector<sim_ms> none;
  return changing() ? models_[static_cast<std::size_t>(page)].changes : none;
}

const std::vector<std::pair<sim_ms, sim_ms>>& site::flaps(int page) const {
  static const std::vector<std::pair<sim_ms, sim_ms>> none;
  return changing() ? models_[static_cast<std::size_t>(page)].flaps : none;
}

page_state site::state_at(int page, sim_ms t) const {
  if (!changing()) return page_state::live;
  const model& m = models_[static_cast<std::size_t>(page)];
  if (t < m.born) return page_state::unborn;
  if (t >= m.deleted) return page_state::deleted;
  const auto it = std::upper_bound(m.flaps.begin(), m.flaps.end(), t,
                                   [](sim_ms v, const auto& f) { return v < f.first; });
  if (it != m.flaps.begin() && t < std::prev(it)->second) return page_state::flapping;
  return page_state::live;
}

std::uint32_t site::version_at(int page, sim_ms t) const {
  const auto& ch = changes(page);
  return static_cast<std::uint32_t>(std::upper_bound(ch.begin(), ch.end(), t) - ch.begin());
}

sim_ms site::version_start(int page, std::uint32_t version) const {
  const auto& ch = changes(page);
  if (version == 0 || ch.empty()) return born(page);
  return ch[std::min<std::size_t>(version, ch.size()) - 1];
}

std::string site::etag(int page, std::uint32_t version) const {
  std::string out = class_of(page) == page_class::churn ? "W/\"p" : "\"p";
  append_number(out, static_cast<std::uint64_t>(page));
  out += 'v';
  append_number(out, version);
  out += '"';
  return out;
}

std::string site::last_modified(int page, std::uint32_t version) const {
  const std::int64_t ms = sim_epoch_unix_ms + version_start(page, version);
  return http_date(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
}

answer site::respond(int page, sim_ms t, std::string_view if_none_match,
                     std::string_view if_modified_since) const {
  answer a;
  switch (state_at(page, t)) {
    case page_state::unborn:
    case page_state::flapping:
      a.status = 404;
      return a;
    case page_state::deleted:
      a.status = deleted_status(page);
      return a;
    case page_state::live:
      break;
  }
  a.status = 200;
  a.version = version_at(page, t);
  const validator_mode mode = validators_of(host_of(page));
  const bool tags = mode == validator_mode::both || mode == validator_mode::etag ||
                    mode == validator_mode::ignore;
  const bool dates = mode == validator_mode::both || mode == validator_mode::last_modified ||
                     mode == validator_mode::ignore;
  if (tags) a.etag = etag(page, a.version);
  if (dates) a.last_modified = last_modified(page, a.version);
  if (mode == validator_mode::none || mode == validator_mode::ignore) return a;
  // RFC 9110 13.2.2: If-None-Match, when present, decides alone; If-Modified-Since is
  // evaluated only without it, and only against a Last-Modified the host sends.
  if (!trim(if_none_match).empty()) {
    if (if_none_match_matches(if_none_match, a.etag)) a.status = 304;
  } else if (dates && !trim(if_modified_since).empty()) {
    const auto since = parse_http_date(if_modified_since);
    const auto modified = parse_http_date(a.last_modified);
    if (since && modified && *modified <= *since) a.status = 304;
  }
  // RFC 9110 15.4.5: a 304 carries the ETag a 200 would have; Last-Modified only without one.
  if (a.status == 304 && !a.etag.empty()) a.last_modified.clear();
  return a;
}

std::array<std::string_view, 4> site::body_at(int page, std::uint32_t version, std::uint64_t nonce,
                                              std::string& scratch) const {
  scratch.clear();
  if (changing()) append_version_piece(scratch, page, version, nonce);
  const auto b = body(page);
  return {b[0], scratch, b[1], b[2]};
}

void site::append_version_piece(std::string& out, int page, std::uint32_t version,
                                std::uint64_t nonce) const {
  const model& m = models_[static_cast<std::size_t>(page)];
  if (m.cls == page_class::hub) {
    // The host's new pages born so far (one per version), the newest first.
    const auto& born_here = new_on_host_[static_cast<std::size_t>(host_of(page))];
    const std::size_t n = std::min<std::size_t>(version, born_here.size());
    out += "<section class=\"whats-new\">\n<h2>New pages</h2>\n<ul>\n";
    for (std::size_t k = n; k > 0 && n - k < max_listed_new_pages; --k) {
      const int p = born_here[k - 1];
      splitmix rng = stream(opt_.seed, static_cast<std::uint64_t>(p), purpose_text);
      out += "<li><a href=\"";
      append_attr(out, href(page, p, rng.next()));
      out += "\">";
      append_words(out, rng, 2 + rng.below(3));
      out += ' ';
      append_number(out, static_cast<std::uint64_t>(p));
      out += "</a></li>\n";
    }
    out += "</ul>\n<p>";
    append_number(out, n);
    out += " pages added.</p>\n</section>\n";
    return;
  }
  if (m.cls == page_class::churn) {
    // Markup only: a script's nonce and its (invisible) text.
    splitmix rng = stream(opt_.seed ^ nonce, static_cast<std::uint64_t>(page), purpose_nonce);
    const std::uint64_t n = rng.next();
    out += "<script nonce=\"";
    append_number(out, n);
    out += "\">window.__build=\"";
    append_number(out, n);
    out += "\";</script>\n";
  }
  splitmix rng =
      stream(opt_.seed + version, static_cast<std::uint64_t>(page), purpose_text + 0x100);
  out += "<section class=\"revision\" data-version=\"";
  append_number(out, version);
  out += "\">\n<h2>Revision ";
  append_number(out, version);
  out += "</h2>\n<p>";
  append_sentence_run(out, rng, 160);
  out += "</p>\n</section>\n";
}

}  // namespace trawler::benchsite
