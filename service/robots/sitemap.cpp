#include "robots/sitemap.hpp"

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace trawler::robots {
namespace {

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// XML character data: the five predefined entities and numeric references; CDATA sections
// are taken verbatim.
std::string decode_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 9, "<![CDATA[") == 0) {
      auto end = s.find("]]>", i + 9);
      if (end == std::string_view::npos) end = s.size();
      out.append(s.substr(i + 9, end - i - 9));
      i = end == s.size() ? end : end + 3;
      continue;
    }
    char c = s[i];
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += c;
      ++i;
      continue;
    }
    std::string_view name = s.substr(i + 1, semi - i - 1);
    if (name == "amp") {
      out += '&';
    } else if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() > 1 && name[0] == '#') {
      std::uint32_t cp = 0;
      bool hex = name[1] == 'x' || name[1] == 'X';
      bool ok = name.size() > (hex ? 2u : 1u);
      for (std::size_t k = hex ? 2 : 1; k < name.size() && ok; ++k) {
        char d = name[k];
        int v = d >= '0' && d <= '9'          ? d - '0'
                : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                              : -1;
        if (v < 0 || cp > 0x10FFFF) {
          ok = false;
        } else {
          cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
        }
      }
      if (!ok) {
        out.append(s.substr(i, semi - i + 1));
      } else {
        append_utf8(cp, out);
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Finds "<loc" followed by '>' or whitespace or a namespace prefix form "<x:loc".
std::size_t find_loc_open(std::string_view xml, std::size_t from, std::size_t& content_start) {
  for (;;) {
    auto lt = xml.find('<', from);
    if (lt == std::string_view::npos) return lt;
    std::size_t name = lt + 1;
    std::size_t gt = xml.find('>', name);
    if (gt == std::string_view::npos) return std::string_view::npos;
    std::string_view tag = xml.substr(name, gt - name);
    auto colon = tag.find(':');
    std::string_view local = colon == std::string_view::npos ? tag : tag.substr(colon + 1);
    auto end_of_name = local.find_first_of(" \t\r\n/");
    std::string_view local_name = local.substr(0, end_of_name);
    if (local_name == "loc" && (tag.empty() || tag.back() != '/')) {
      content_start = gt + 1;
      return lt;
    }
    from = gt + 1;
  }
}

}  // namespace

bool looks_gzipped(std::string_view body) {
  return body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f &&
         static_cast<unsigned char>(body[1]) == 0x8b;
}

sitemap parse_sitemap(std::string_view xml, std::size_t max_locations) {
  sitemap out;
  auto index_tag = xml.find("sitemapindex");
  auto urlset_tag = xml.find("urlset");
  out.is_index = index_tag != std::string_view::npos &&
                 (urlset_tag == std::string_view::npos || index_tag < urlset_tag);
  std::size_t pos = 0;
  while (out.locations.size() < max_locations) {
    std::size_t content = 0;
    auto open = find_loc_open(xml, pos, content);
    if (open == std::string_view::npos) break;
    auto close = xml.find("</", content);
    // CDATA may contain "</": skip past it first.
    auto cdata = xml.find("<![CDATA[", content);
    if (cdata != std::string_view::npos && cdata < close) {
      auto cdata_end = xml.find("]]>", cdata);
      if (cdata_end == std::string_view::npos) break;
      close = xml.find("</", cdata_end);
    }
    if (close == std::string_view::npos) break;
    std::string value = decode_text(trim(xml.substr(content, close - content)));
    std::string_view trimmed = trim(value);
    if (!trimmed.empty()) {
      out.locations.emplace_back(trimmed);
      // The entry's <lastmod>: before the next <loc> and the end of this entry.
      std::size_t next = 0;
      const auto next_loc = find_loc_open(xml, close + 2, next);
      const auto entry_end = std::min(next_loc, xml.find("</url", close));
      const auto end = std::min(entry_end, xml.find("</sitemap>", close));
      std::int64_t lastmod = 0;
      const auto tag = xml.find("lastmod>", close);
      if (tag != std::string_view::npos && tag < end) {
        const auto from = tag + 8;
        const auto to = xml.find('<', from);
        if (to != std::string_view::npos && to <= end) {
          if (auto t = parse_w3c_datetime(trim(xml.substr(from, to - from)))) lastmod = *t;
        }
      }
      out.lastmods.push_back(lastmod);
    }
    pos = close + 2;
  }
  return out;
}

std::optional<std::int64_t> parse_w3c_datetime(std::string_view s) {
  auto num = [&](std::size_t at, std::size_t n, int& out) {
    if (s.size() < at + n) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!num(0, 4, year)) return std::nullopt;
  std::size_t at = 4;
  if (s.size() > at) {
    if (s[at] != '-' || !num(at + 1, 2, month)) return std::nullopt;
    at += 3;
  }
  if (s.size() > at) {
    if (s[at] != '-' || !num(at + 1, 2, day)) return std::nullopt;
    at += 3;
  }
  std::int64_t offset_s = 0;
  if (s.size() > at) {
    if (s[at] != 'T' || !num(at + 1, 2, hour) || s.size() < at + 6 || s[at + 3] != ':' ||
        !num(at + 4, 2, minute)) {
      return std::nullopt;
    }
    at += 6;
    if (s.size() > at && s[at] == ':') {
      if (!num(at + 1, 2, second)) return std::nullopt;
      at += 3;
      if (s.size() > at && s[at] == '.') {
        ++at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
      }
    }
    // The time zone designator is required with a time.
    if (at >= s.size()) return std::nullopt;
    if (s[at] == 'Z') {
      ++at;
    } else if (s[at] == '+' || s[at] == '-') {
      int oh = 0, om = 0;
      if (!num(at + 1, 2, oh) || s.size() < at + 6 || s[at + 3] != ':' || !num(at + 4, 2, om))
        return std::nullopt;
      offset_s = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      at += 6;
    } else {
      return std::nullopt;
    }
  }
  if (at != s.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = std::min(second, 59);
  return (static_cast<std::int64_t>(timegm(&tm)) - offset_s) * 1000;
}

}  // namespace trawler::robots
