#include "crawl/crawl_stats.hpp"

#include "recrawl/visit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace trawler::crawl {

void loop_lag::observe(double ms) noexcept {
  if (!(ms >= 0)) ms = 0;  // a timer cannot run early; NaN counts as on time
  const double slot = ms / bucket_ms;
  const std::size_t i =
      slot >= static_cast<double>(buckets) ? buckets : static_cast<std::size_t>(slot);
  ++counts_[i];
  ++samples_;
  if (ms > max_ms_) max_ms_ = ms;
}

double loop_lag::quantile_ms(double q) const noexcept {
  if (samples_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(samples_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < std::max<std::uint64_t>(rank, 1)) continue;
    if (i == buckets) return max_ms_;  // past the buckets: the maximum bounds it
    // Divided, not multiplied by 0.1: the stats show 4.1, not 4.1000000000000005.
    constexpr double buckets_per_ms = 1.0 / bucket_ms;
    return std::min(max_ms_, static_cast<double>(i + 1) / buckets_per_ms);
  }
  return max_ms_;
}

std::uint64_t crawl_stats::error_total() const {
  std::uint64_t n = 0;
  for (auto e : errors) n += e;
  return n;
}

void recrawl_counts::observe_lag(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  std::size_t i = 0;
  while (i < lag_bounds.size() && seconds > lag_bounds[i]) ++i;
  ++lag_counts[i];
  lag_sum_s += seconds;
}

void recrawl_counts::add_carried(const recrawl_counts& o) {
  for (std::size_t i = 0; i < changes.size(); ++i) changes[i] += o.changes[i];
  conditional += o.conditional;
  validators_ignored += o.validators_ignored;
  bytes_saved += o.bytes_saved;
  parses_skipped += o.parses_skipped;
  lastmod_hints += o.lastmod_hints;
  for (std::size_t i = 0; i < lag_counts.size(); ++i) lag_counts[i] += o.lag_counts[i];
  lag_sum_s += o.lag_sum_s;
}

double recrawl_counts::lag_quantile(double q) const {
  std::uint64_t total = 0;
  for (auto c : lag_counts) total += c;
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < lag_counts.size(); ++i) {
    seen += lag_counts[i];
    if (seen >= std::max<std::uint64_t>(rank, 1))
      return lag_bounds[std::min(i, lag_bounds.size() - 1)];
  }
  return lag_bounds.back();
}

nlohmann::json crawl_stats::to_json() const {
  nlohmann::json errs = nlohmann::json::object();
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] != 0) errs[std::string(to_string(all_error_kinds[i]))] = errors[i];
  }
  nlohmann::json out = {
      {"pages", pages},
      {"status",
       {{"2xx", status_classes[0]},
        {"3xx", status_classes[1]},
        {"4xx", status_classes[2]},
        {"5xx", status_classes[3]}}},
      {"errors", errs},
      {"http_errors", http_error_total()},
      {"bytes", bytes},
      {"seen", seen},
      {"queued", queued},
      {"in_flight", in_flight},
      {"filtered", filtered},
      {"robots_fetches", robots_fetches},
      {"elapsed_s", elapsed_s},
      {"pages_per_s", pages_per_s()},
      {"loop_lag_ms",
       {{"p50", lag.quantile_ms(0.50)},
        {"p99", lag.quantile_ms(0.99)},
        {"max", lag.max_ms()},
        {"samples", lag.samples()}}},
  };
  if (recrawl) {
    nlohmann::json by_change = nlohmann::json::object();
    for (std::size_t i = 0; i < recrawl->changes.size(); ++i)
      by_change[std::string(recrawl::change_name(static_cast<recrawl::change>(i)))] =
          recrawl->changes[i];
    out["recrawl"] = {{"changes", by_change},
                      {"conditional", recrawl->conditional},
                      {"validators_ignored", recrawl->validators_ignored},
                      {"bytes_saved", recrawl->bytes_saved},
                      {"parses_skipped", recrawl->parses_skipped},
                      {"lastmod_hints", recrawl->lastmod_hints},
                      {"waiting", recrawl->waiting},
                      {"due", recrawl->due},
                      {"lag_p50_s", recrawl->lag_quantile(0.5)},
                      {"lag_p95_s", recrawl->lag_quantile(0.95)}};
  }
  if (cluster) {
    out["cluster"] = {{"seen", cluster->seen},
                      {"queued", cluster->queued},
                      {"claimed", cluster->claimed},
                      {"workers", cluster->workers},
                      {"hosts_owned", cluster->hosts_owned},
                      {"pages", cluster->pages},
                      {"owned_here", cluster->owned_here},
                      {"revisits", cluster->revisits}};
  }
  return out;
}

std::string crawl_stats::report() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%llu pages in %.2f s (%.1f pages/s), %llu bytes\n",
                static_cast<unsigned long long>(pages), elapsed_s, pages_per_s(),
                static_cast<unsigned long long>(bytes));
  out += line;
  const char* names[] = {"2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 4; ++i) {
    if (status_classes[i] == 0) continue;
    std::snprintf(line, sizeof line, "  %-16s %llu\n", names[i],
                  static_cast<unsigned long long>(status_classes[i]));
    out += line;
  }
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] == 0) continue;
    std::snprintf(line, sizeof line, "  error %-10s %llu\n",
                  std::string(to_string(all_error_kinds[i])).c_str(),
                  static_cast<unsigned long long>(errors[i]));
    out += line;
  }
  if (http_error_total() != 0 || error_total() != 0) {
    std::snprintf(line, sizeof line, "  4xx/5xx responses %llu, fetch errors %llu\n",
                  static_cast<unsigned long long>(http_error_total()),
                  static_cast<unsigned long long>(error_total()));
    out += line;
  }
  std::snprintf(
      line, sizeof line, "  seen %llu, filtered %llu, still queued %llu, robots.txt fetches %llu\n",
      static_cast<unsigned long long>(seen), static_cast<unsigned long long>(filtered),
      static_cast<unsigned long long>(queued), static_cast<unsigned long long>(robots_fetches));
  out += line;
  if (recrawl) {
    const auto& c = recrawl->changes;
    std::snprintf(line, sizeof line,
                  "  visits: new %llu, changed %llu, unchanged %llu, not modified %llu, gone %llu, "
                  "failed %llu; %llu revisits waiting\n",
                  static_cast<unsigned long long>(c[0]), static_cast<unsigned long long>(c[1]),
                  static_cast<unsigned long long>(c[2]), static_cast<unsigned long long>(c[3]),
                  static_cast<unsigned long long>(c[4]), static_cast<unsigned long long>(c[5]),
                  static_cast<unsigned long long>(recrawl->waiting));
    out += line;
  }
  if (lag.samples() > 0) {
    std::snprintf(line, sizeof line, "  event-loop lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                  lag.quantile_ms(0.50), lag.quantile_ms(0.99), lag.max_ms());
    out += line;
  }
  return out;
}

std::string crawl_stats::progress_line() const {
  char line[256];
  std::snprintf(
      line, sizeof line,
      "pages %llu  %.1f/s  queued %llu  in flight %llu  4xx/5xx %llu  errors %llu  %.0f s",
      static_cast<unsigned long long>(pages), pages_per_s(),
      static_cast<unsigned long long>(queued), static_cast<unsigned long long>(in_flight),
      static_cast<unsigned long long>(http_error_total()),
      static_cast<unsigned long long>(error_total()), elapsed_s);
  return line;
}

nlohmann::json crawl_stats::carried_json() const {
  nlohmann::json errs = nlohmann::json::object();
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] != 0) errs[std::string(to_string(all_error_kinds[i]))] = errors[i];
  }
  const auto counts = fetch_duration.bucket_counts();
  nlohmann::json out = {{"version", 1},
                        {"pages", pages},
                        {"status", status_classes},
                        {"other_status", other_status},
                        {"errors", errs},
                        {"bytes", bytes},
                        {"filtered", filtered},
                        {"robots_fetches", robots_fetches},
                        {"records", records},
                        {"elapsed_s", elapsed_s},
                        {"fetch_duration",
                         {{"buckets", std::vector<std::uint64_t>(counts.begin(), counts.end())},
                          {"sum", fetch_duration.sum()}}}};
  if (recrawl) {
    out["recrawl"] = {{"changes", recrawl->changes},
                      {"conditional", recrawl->conditional},
                      {"validators_ignored", recrawl->validators_ignored},
                      {"bytes_saved", recrawl->bytes_saved},
                      {"parses_skipped", recrawl->parses_skipped},
                      {"lastmod_hints", recrawl->lastmod_hints},
                      {"lag_counts", recrawl->lag_counts},
                      {"lag_sum_s", recrawl->lag_sum_s}};
  }
  return out;
}

std::optional<crawl_stats> crawl_stats::from_carried_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("version", 0) != 1) return std::nullopt;
  crawl_stats s;
  auto count = [&](const char* key, std::uint64_t& into) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return false;
    into = it->get<std::uint64_t>();
    return true;
  };
  if (!count("pages", s.pages) || !count("other_status", s.other_status) ||
      !count("bytes", s.bytes) || !count("filtered", s.filtered) ||
      !count("robots_fetches", s.robots_fetches) || !count("records", s.records)) {
    return std::nullopt;
  }
  const auto st = j.find("status");
  if (st == j.end() || !st->is_array() || st->size() != s.status_classes.size())
    return std::nullopt;
  for (std::size_t i = 0; i < s.status_classes.size(); ++i) {
    if (!(*st)[i].is_number_unsigned()) return std::nullopt;
    s.status_classes[i] = (*st)[i].get<std::uint64_t>();
  }
  const auto errs = j.find("errors");
  if (errs == j.end() || !errs->is_object()) return std::nullopt;
  for (const auto& [k, v] : errs->items()) {
    const auto kind = error_kind_from_string(k);
    if (!kind || !v.is_number_unsigned()) return std::nullopt;
    s.errors[static_cast<std::size_t>(*kind)] = v.get<std::uint64_t>();
  }
  const auto el = j.find("elapsed_s");
  if (el == j.end() || !el->is_number() || !(el->get<double>() >= 0)) return std::nullopt;
  s.elapsed_s = el->get<double>();
  const auto fd = j.find("fetch_duration");
  if (fd == j.end() || !fd->is_object()) return std::nullopt;
  const auto b = fd->find("buckets");
  const auto sum = fd->find("sum");
  if (b == fd->end() || !b->is_array() || sum == fd->end() || !sum->is_number()) {
    return std::nullopt;
  }
  std::vector<std::uint64_t> counts;
  for (const auto& n : *b) {
    if (!n.is_number_unsigned()) return std::nullopt;
    counts.push_back(n.get<std::uint64_t>());
  }
  if (!s.fetch_duration.assign(counts, sum->get<double>())) return std::nullopt;
  // Written since recrawl: absent in older snapshots and in crawls without it.
  if (const auto rc = j.find("recrawl"); rc != j.end()) {
    if (!rc->is_object()) return std::nullopt;
    recrawl_counts r;
    const auto ch = rc->find("changes");
    if (ch == rc->end() || !ch->is_array() || ch->size() != r.changes.size()) return std::nullopt;
    for (std::size_t i = 0; i < r.changes.size(); ++i) {
      if (!(*ch)[i].is_number_unsigned()) return std::nullopt;
      r.changes[i] = (*ch)[i].get<std::uint64_t>();
    }
    auto rcount = [&](const char* key, std::uint64_t& into) {
      const auto it = rc->find(key);
      if (it == rc->end() || !it->is_number_unsigned()) return false;
      into = it->get<std::uint64_t>();
      return true;
    };
    if (!rcount("conditional", r.conditional) ||
        !rcount("validators_ignored", r.validators_ignored) ||
        !rcount("bytes_saved", r.bytes_saved) || !rcount("parses_skipped", r.parses_skipped)) {
      return std::nullopt;
    }
    if (const auto lh = rc->find("lastmod_hints"); lh != rc->end()) {
      if (!lh->is_number_unsigned()) return std::nullopt;
      r.lastmod_hints = lh->get<std::uint64_t>();
    }
    // Written since the lag histogram: absent in the first recrawl snapshots.
    if (const auto lc = rc->find("lag_counts"); lc != rc->end()) {
      if (!lc->is_array() || lc->size() != r.lag_counts.size()) return std::nullopt;
      for (std::size_t i = 0; i < r.lag_counts.size(); ++i) {
        if (!(*lc)[i].is_number_unsigned()) return std::nullopt;
        r.lag_counts[i] = (*lc)[i].get<std::uint64_t>();
      }
      const auto ls = rc->find("lag_sum_s");
      if (ls == rc->end() || !ls->is_number()) return std::nullopt;
      r.lag_sum_s = ls->get<double>();
    }
    s.recrawl = r;
  }
  return s;
}

void crawl_stats::carry_from(const crawl_stats& base) {
  pages += base.pages;
  for (std::size_t i = 0; i < status_classes.size(); ++i)
    status_classes[i] += base.status_classes[i];
  other_status += base.other_status;
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += base.errors[i];
  bytes += base.bytes;
  filtered += base.filtered;
  robots_fetches += base.robots_fetches;
  records += base.records;
  if (base.recrawl) {
    if (!recrawl) recrawl.emplace();
    recrawl->add_carried(*base.recrawl);
  }
  elapsed_s += base.elapsed_s;
  const auto mine = fetch_duration.bucket_counts();
  const auto theirs = base.fetch_duration.bucket_counts();
  std::vector<std::uint64_t> sum(mine.begin(), mine.end());
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += theirs[i];
  fetch_duration.assign(sum, fetch_duration.sum() + base.fetch_duration.sum());
}

}  // namespace trawler::crawl
