#include "report/broken_links.hpp"

#include <algorithm>
#include <functional>

#include "common/http_status.hpp"
#include "sink/line_reader.hpp"

namespace trawler::report {

using nlohmann::json;

namespace {

std::string string_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string csv_field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Whether a line may hold a 4xx or 5xx status: its "status" key's value starts with 4 or 5.
bool may_hold_http_error(std::string_view line) {
  const auto at = line.find("\"status\"");
  if (at == std::string_view::npos) return false;
  std::size_t i = at + 8;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == ':')) ++i;
  return i < line.size() && (line[i] == '4' || line[i] == '5');
}

}  // namespace

void broken_links::entry::add_page(std::string_view page) {
  if (pages.size() < pages_kept && std::find(pages.begin(), pages.end(), page) == pages.end()) {
    pages.emplace_back(page);
  }
  hashes.push_back(std::hash<std::string_view>{}(page));
  // Sorted and made unique from time to time: memory stays about 8 bytes a distinct page.
  if (hashes.size() >= 2 * unique + 64) {
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    unique = hashes.size();
  }
}

std::uint64_t broken_links::entry::count() const {
  if (unique == hashes.size()) return hashes.size();
  auto all = hashes;
  std::sort(all.begin(), all.end());
  return static_cast<std::uint64_t>(std::unique(all.begin(), all.end()) - all.begin());
}

void broken_links::add(const json& record) {
  const auto status = record.find("status");
  // A record without a response tells nothing of the link (a timeout is not a fix).
  if (status == record.end() || !status->is_number_integer()) return;
  const std::string url = string_of(record, "url");
  if (url.empty()) return;
  const int code = status->get<int>();
  auto it = table_.find(url);
  if (!is_http_error(code)) {
    if (it != table_.end()) table_.erase(it);
    return;
  }
  if (it == table_.end()) {
    if (table_.size() >= max_urls) {
      ++unlisted_;
      return;
    }
    auto e = std::make_unique<entry>();
    e->url = url;
    const std::string_view key = e->url;
    it = table_.emplace(key, std::move(e)).first;
  }
  it->second->status = code;
  if (const std::string referrer = string_of(record, "referrer");
      !referrer.empty() && referrer != url) {
    it->second->add_page(referrer);
  }
}

bool broken_links::names_a_broken_url(std::string_view line) const {
  if (table_.empty()) return false;
  // Any string of the line that is a broken URL (as it stands: the records' URLs need no
  // escape; a string with escapes is decoded first).
  for (std::size_t i = 0;;) {
    const auto open = line.find('"', i);
    if (open == std::string_view::npos) return false;
    std::size_t end = open + 1;
    bool escaped = false;
    while (end < line.size() && line[end] != '"') {
      if (line[end] == '\\') {
        escaped = true;
        ++end;
      }
      ++end;
    }
    if (end >= line.size()) return false;
    if (!escaped) {
      if (table_.count(line.substr(open + 1, end - open - 1))) return true;
    } else {
      const json s = json::parse(line.substr(open, end - open + 1), nullptr, false);
      if (s.is_string() && table_.count(s.get_ref<const std::string&>())) return true;
    }
    i = end + 1;
  }
}

void broken_links::scan_line(std::string_view line) {
  if (!names_a_broken_url(line)) return;
  const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (record.is_object()) add_links(record);
}

void broken_links::add_links(const json& record) {
  const std::string page = string_of(record, "url");
  if (page.empty()) return;
  auto count = [&](const json& target) {
    if (!target.is_string()) return;
    const auto& t = target.get_ref<const std::string&>();
    if (t == page) return;
    if (auto it = table_.find(t); it != table_.end()) it->second->add_page(page);
  };
  if (const auto links = record.find("links"); links != record.end() && links->is_array()) {
    for (const auto& l : *links) count(l);
  }
  if (const auto redirect = record.find("redirect"); redirect != record.end()) count(*redirect);
}

std::vector<broken_links::row> broken_links::rows() const {
  std::vector<row> out;
  out.reserve(table_.size());
  for (const auto& [key, e] : table_) out.push_back({e->url, e->status, e->count(), e->pages});
  std::sort(out.begin(), out.end(), [](const row& a, const row& b) {
    if (a.linked_from_count != b.linked_from_count)
      return a.linked_from_count > b.linked_from_count;
    if (a.status != b.status) return a.status < b.status;
    return a.url < b.url;
  });
  return out;
}

std::string to_csv(const std::vector<broken_links::row>& rows) {
  std::string out = "url,status,linked_from_count,linked_from\r\n";
  for (const auto& r : rows) {
    std::string pages;
    for (const auto& p : r.linked_from) pages += (pages.empty() ? "" : " ") + p;
    out += csv_field(r.url) + "," + std::to_string(r.status) + "," +
           std::to_string(r.linked_from_count) + "," + csv_field(pages) + "\r\n";
  }
  return out;
}

json to_json(const broken_links::row& r) {
  return {{"url", r.url},
          {"status", r.status},
          {"linked_from_count", r.linked_from_count},
          {"linked_from", r.linked_from}};
}

std::string read_links(const std::vector<std::string>& files, broken_links& b) {
  if (!b.wants_links()) return "";
  for (const auto& f : files) {
    const auto read = sink::for_each_line(f, [&b](std::string_view line) { b.scan_line(line); });
    if (!read.error.empty()) return read.error;
  }
  return "";
}

std::string read_broken_links(const std::vector<std::string>& files, broken_links& b) {
  for (const auto& f : files) {
    const auto read = sink::for_each_line(f, [&b](std::string_view line) {
      // Parsed: a line that may answer 4xx/5xx, or (a recrawl's later visit) name a URL that
      // did.
      if (!may_hold_http_error(line) && !b.names_a_broken_url(line)) return;
      const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_object()) b.add(record);
    });
    if (!read.error.empty()) return read.error;
  }
  return read_links(files, b);
}

}  // namespace trawler::report
