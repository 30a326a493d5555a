#include "report/crawl_report.hpp"

#include <algorithm>
#include <cmath>

namespace trawler::report {

using nlohmann::json;

namespace {

constexpr std::size_t max_depth_row = 64;  // deeper pages share the last row

std::string string_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

int log_histogram::bucket_of(double v) {
  if (!(v > 0)) return 0;
  const double b = std::floor(4.0 * std::log2(v + 1.0));
  return static_cast<int>(std::clamp(b, 0.0, static_cast<double>(buckets - 1)));
}

double log_histogram::lower_bound(int b) {
  return std::exp2(b / 4.0) - 1.0;
}

double log_histogram::upper_bound(int b) {
  return std::exp2((b + 1) / 4.0) - 1.0;
}

void log_histogram::add(double v) {
  ++counts[static_cast<std::size_t>(bucket_of(v))];
  ++total;
}

void log_histogram::merge(const log_histogram& o) {
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  total += o.total;
}

std::optional<double> log_histogram::quantile(double q) const {
  if (total == 0) return std::nullopt;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (int b = 0; b < buckets; ++b) {
    seen += counts[static_cast<std::size_t>(b)];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::exp2((b + 0.5) / 4.0) - 1.0;
  }
  return upper_bound(buckets - 1);
}

std::string host_of(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  const auto end = url.find_first_of("/?#", scheme + 3);
  return std::string(url.substr(0, end));
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) {
  // YYYY-MM-DDThh:mm:ss[.fff]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
             se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) {
    return std::nullopt;
  }
  std::int64_t ms = 0;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (i >= s.size() || (s[i] != 'Z' && s[i] != 'z')) return std::nullopt;
  const std::int64_t days =
      days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return ((days * 24 + *h) * 60 + *mi) * 60000 + std::int64_t{*se} * 1000 + ms;
}

bool crawl_report::add_line(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return true;  // blank
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("url") || !j["url"].is_string()) {
    ++invalid_;
    return false;
  }
  add(j);
  return true;
}

void crawl_report::add(const json& r) {
  ++records_;
  const std::string url = string_of(r, "url");
  host_row& host = hosts_[host_of(url)];
  ++host.records;

  const auto status = r.find("status");
  const bool answered = status != r.end() && status->is_number_integer();
  std::uint64_t size = 0;
  if (auto s = r.find("size");
      s != r.end() && s->is_number_integer() && s->get<std::int64_t>() > 0) {
    size = s->get<std::uint64_t>();
  }
  if (answered) {
    const int code = status->get<int>();
    const int cls = code / 100;
    ++status_[cls >= 2 && cls <= 5 ? static_cast<std::size_t>(cls - 2) : 4];
    ++pages_;
    ++host.pages;
    bytes_ += size;
    host.bytes += size;
    sizes_.add(static_cast<double>(size));
    if (auto e = r.find("elapsed_ms"); e != r.end() && e->is_number()) {
      const double ms = e->get<double>();
      response_ms_.add(ms);
      host.response_ms.add(ms);
    }
    std::string type = string_of(r, "content_type");
    if (type.empty()) type = "(none)";
    if (types_.size() >= max_content_types && !types_.count(type)) type = "(other)";
    auto& t = types_[type];
    ++t.count;
    t.bytes += size;
  } else {
    ++status_[5];
  }

  std::string kind;
  if (auto e = r.find("error"); e != r.end() && e->is_object()) kind = string_of(*e, "kind");
  if (!kind.empty()) {
    ++errors_;
    if (kind == "robots") {
      ++host.robots;
    } else {
      ++host.errors;
    }
    auto& k = kinds_[kind];
    ++k.count;
    if (k.examples.size() < examples_per_kind) k.examples.push_back(url);
  }

  broken_.add(r);

  if (auto c = r.find("change"); c != r.end() && c->is_string()) {
    const auto& name = c->get_ref<const std::string&>();
    for (std::size_t i = 0; i < std::size(change_names); ++i) {
      if (name != change_names[i]) continue;
      recrawl_ = true;
      ++changes_[i];
      ++host.changes[i];
      if (name == "gone") {
        std::string why = string_of(r, "gone_reason");
        if (why.empty()) why = "(none)";
        auto& g = gone_[why];
        ++g.count;
        if (g.examples.size() < examples_per_kind) g.examples.push_back(url);
      }
    }
  }

  if (auto d = r.find("depth");
      d != r.end() && d->is_number_integer() && d->get<std::int64_t>() >= 0) {
    const auto depth = std::min<std::size_t>(d->get<std::size_t>(), max_depth_row);
    if (depths_.size() <= depth) depths_.resize(depth + 1);
    ++depths_[depth];
  }

  if (auto at = parse_rfc3339_ms(string_of(r, "fetched_at"))) {
    first_ms_ = first_ms_ ? std::min(*first_ms_, *at) : *at;
    last_ms_ = last_ms_ ? std::max(*last_ms_, *at) : *at;
    auto& sec = seconds_[*at / 1000];
    ++sec.records;
    if (answered) {
      ++sec.pages;
      sec.bytes += size;
    }
    if (!kind.empty()) ++sec.errors;
  }
}

json crawl_report::summary() const {
  json hosts = json::array();
  json fresh_hosts = json::array();
  for (const auto& [name, h] : hosts_) {
    if (recrawl_) {
      json row = {{"host", name}};
      std::uint64_t revisits = 0;
      for (std::size_t i = 0; i < std::size(change_names); ++i) {
        row[change_names[i]] = h.changes[i];
        if (i != 0) revisits += h.changes[i];
      }
      // Of the visits after the first, the share a 304 answered: what validators save.
      row["not_modified_share"] =
          revisits ? static_cast<double>(h.changes[3]) / static_cast<double>(revisits) : 0.0;
      fresh_hosts.push_back(std::move(row));
    }
    hosts.push_back({{"host", name},
                     {"records", h.records},
                     {"pages", h.pages},
                     {"errors", h.errors},
                     {"robots", h.robots},
                     {"bytes", h.bytes},
                     {"median_ms", h.response_ms.quantile(0.5).value_or(0)},
                     {"p95_ms", h.response_ms.quantile(0.95).value_or(0)}});
  }
  std::sort(hosts.begin(), hosts.end(), [](const json& a, const json& b) {
    return a["pages"] != b["pages"] ? a["pages"] > b["pages"] : a["host"] < b["host"];
  });
  json kinds = json::object();
  for (const auto& [k, row] : kinds_) kinds[k] = {{"count", row.count}, {"examples", row.examples}};
  json types = json::object();
  for (const auto& [t, row] : types_) types[t] = {{"count", row.count}, {"bytes", row.bytes}};
  const double span_s =
      first_ms_ && last_ms_ ? static_cast<double>(*last_ms_ - *first_ms_) / 1000.0 : 0.0;
  json freshness = nullptr;
  if (recrawl_) {
    std::sort(fresh_hosts.begin(), fresh_hosts.end(),
              [](const json& a, const json& b) { return a["host"] < b["host"]; });
    json by_change = json::object();
    for (std::size_t i = 0; i < std::size(change_names); ++i)
      by_change[change_names[i]] = changes_[i];
    json gone = json::object();
    for (const auto& [why, row] : gone_)
      gone[why] = {{"count", row.count}, {"examples", row.examples}};
    freshness = {{"changes", by_change}, {"gone_reasons", gone}, {"hosts", fresh_hosts}};
  }
  json broken = json::array();
  const auto rows = broken_.rows();
  for (std::size_t i = 0; i < rows.size() && i < broken_links_shown; ++i)
    broken.push_back(to_json(rows[i]));
  return {{"freshness", freshness},
          {"records", records_},
          {"invalid_lines", invalid_},
          {"pages", pages_},
          {"errors", errors_},
          {"http_errors", http_errors()},
          {"broken_links",
           {{"listed", rows.size()},
            {"not_listed_records", broken_.unlisted()},
            {"rows", std::move(broken)}}},
          {"bytes", bytes_},
          {"status",
           {{"2xx", status_[0]},
            {"3xx", status_[1]},
            {"4xx", status_[2]},
            {"5xx", status_[3]},
            {"other", status_[4]},
            {"none", status_[5]}}},
          {"error_kinds", kinds},
          {"content_types", types},
          {"depths", depths_},
          {"hosts", hosts},
          {"duration_s", span_s},
          {"pages_per_s", span_s > 0 ? static_cast<double>(pages_) / span_s : 0.0},
          {"response_ms",
           {{"median", response_ms_.quantile(0.5).value_or(0)},
            {"p95", response_ms_.quantile(0.95).value_or(0)},
            {"p99", response_ms_.quantile(0.99).value_or(0)}}}};
}

}  // namespace trawler::report
