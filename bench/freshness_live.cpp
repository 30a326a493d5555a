// Freshness of a real continuous crawl (bench/README.md "Live freshness"): reads the ground
// truth the bench site wrote (trawler-bench-site --changes --truth FILE: every page's versions,
// births, deletions and flaps, and every page answer it made) and the records of a
// `trawler crawl --recrawl continuous` of that site, and prints one JSON summary.
//
//   trawler-bench-freshness-live --truth FILE --records FILE [--warmup-days W] [--end-ms T]
//                                [--seed S] [--check]
//
// All times are the wall clock (Unix ms). Each record is matched with the site's answer it got:
// the last answer for its URL made before its fetched_at (+1 ms: fetched_at is cut to the ms), so
// the version it saw is known exactly, not guessed from times.
//
// Definitions (the window is [start + W days, T), T the --end-ms or the site's stop):
// - The index holds, per URL, the version of its last `new` or `changed` record (the version the
//   site served to that visit) from that record's fetched_at on; `gone` empties it; `unchanged`,
//   `not_modified` and `failed` leave it. A page is fresh at t when it exists at t (born, not
//   deleted; a flapping page exists) and the index holds the version it has at t: the visit
//   found the version current then and no change has happened since (versions only grow).
//   Freshness is the fresh page-time over the live page-time of the window (pages not yet
//   discovered are live and not fresh).
// - A change (a new version starting in the window, of a page changing daily or weekly) is caught
//   when a `new` or `changed` record got that version: it was seen before the next change.
// - False gone: a `gone` record whose visit was answered while the page existed (a flap). False
//   changed: a `changed` record of the version the index held (the text did not change); on
//   churn-only pages every `changed` is false. False unchanged: `unchanged` or `not_modified` of
//   a version other than the index's.
// - Bytes saved: on hosts that honour validators, the bodies the 304s did not carry over those
//   plus the bodies of the revisits answered 200.
// - Uniform: every page visited every I at its own random phase from its birth on (no discovery
//   needed), I chosen so that the window holds as many fetches as the crawler's; a visit of a live
//   page indexes its version, of a flapping one keeps the copy, of a deleted one empties it (then
//   no more visits). It starts warm: the pages there at the start are held as they are then. The
//   same freshness and caught are computed from those visits.
//
// --check exits 1 unless the summary is sane (the smoke test): freshness and shares in [0, 1],
// every record matched with an answer of the same status, no false gone, no false changed, no
// false unchanged, no gone at all on a site without deletions, some 304s and some churn-only
// revisits answered 200, the uniform fetches within 5% of the crawler's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double sim_day = 86400000.0;

struct serve {
  double at = 0;
  int status = 0;
  std::int64_t version = 0;
  std::uint64_t bytes = 0;
  std::uint64_t would_bytes = 0;
};

struct record {
  double at = 0;          // fetched_at
  double next_due = inf;  // next_visit_at
  std::string change;
  int status = 0;  // 0: none
  const serve* answer = nullptr;
};

struct page {
  std::string url;
  std::string cls;
  std::string validators;
  double born = 0;
  double deleted = inf;
  std::vector<double> changes;  // version k + 1 starts at changes[k]
  std::vector<std::pair<double, double>> flaps;
  std::vector<serve> serves;
  std::vector<record> records;
};

// What an index holds of a page from time `at` on: a version, or nothing (-1).
struct index_event {
  double at = 0;
  std::int64_t version = -1;
};

std::int64_t version_at(const page& p, double t) {
  return std::upper_bound(p.changes.begin(), p.changes.end(), t) - p.changes.begin();
}

bool flapping_at(const page& p, double t) {
  for (const auto& [a, b] : p.flaps)
    if (t >= a && t < b) return true;
  return false;
}

// "2026-12-07T10:11:12.345Z" (or with an offset) to Unix ms.
std::optional<double> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi;
  double sec;
  char tail[16] = {0};
  const std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%15s", &y, &mo, &d, &h, &mi, &sec, tail) < 6)
    return std::nullopt;
  // days_from_civil
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const double days = static_cast<double>(era) * 146097 + doe - 719468;
  double ms = ((days * 24 + h) * 60 + mi) * 60000.0 + sec * 1000.0;
  const std::string_view t = tail;
  if (t.size() == 6 && (t[0] == '+' || t[0] == '-')) {
    const double off = (std::atoi(std::string(t.substr(1, 2)).c_str()) * 60 +
                        std::atoi(std::string(t.substr(4, 2)).c_str())) *
                       60000.0;
    ms += t[0] == '+' ? -off : off;
  }
  return std::round(ms * 1000.0) / 1000.0;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

double share(double a, double b) {
  return b > 0 ? a / b : 0;
}

// Fresh and live time of one page over [from, to) given what the index held when.
void page_freshness(const page& p, const std::vector<index_event>& idx, double from, double to,
                    double& fresh, double& live) {
  const double lo = std::max(from, p.born);
  const double hi = std::min(to, p.deleted);
  if (!(lo < hi)) return;
  live += hi - lo;
  std::vector<double> cuts{lo, hi};
  for (const double c : p.changes)
    if (c > lo && c < hi) cuts.push_back(c);
  for (const auto& e : idx)
    if (e.at > lo && e.at < hi) cuts.push_back(e.at);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::size_t k = 0;
  std::int64_t held = -1;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    while (k < idx.size() && idx[k].at <= cuts[i]) held = idx[k++].version;
    if (held >= 0 && held == version_at(p, cuts[i])) fresh += cuts[i + 1] - cuts[i];
  }
}

struct scores {
  double fresh = 0, live = 0;
  std::map<std::string, std::pair<double, double>> by_class;  // fresh, live
  std::uint64_t changes = 0, caught = 0;
  std::vector<double> lag_hours;
};

// Freshness and caught changes of every page from the index's history.
scores score(const std::vector<page>& pages, const std::vector<std::vector<index_event>>& idx,
             double from, double to, double day_ms) {
  scores s;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const page& p = pages[i];
    double f = 0, l = 0;
    page_freshness(p, idx[i], from, to, f, l);
    s.fresh += f;
    s.live += l;
    s.by_class[p.cls].first += f;
    s.by_class[p.cls].second += l;
    if (p.cls != "daily" && p.cls != "weekly") continue;
    for (std::size_t k = 0; k < p.changes.size(); ++k) {
      const double at = p.changes[k];
      if (at < from || at >= to || at >= p.deleted) continue;
      ++s.changes;
      for (const auto& e : idx[i]) {
        if (e.version == static_cast<std::int64_t>(k + 1)) {
          ++s.caught;
          s.lag_hours.push_back((e.at - at) / day_ms * 24);
          break;
        }
      }
    }
  }
  return s;
}

json freshness_json(const scores& s) {
  json by = json::object();
  for (const auto& [cls, fl] : s.by_class) by[cls] = share(fl.first, fl.second);
  return {{"freshness", share(s.fresh, s.live)},
          {"freshness_by_class", by},
          {"changes", s.changes},
          {"caught", s.caught},
          {"caught_share", share(static_cast<double>(s.caught), static_cast<double>(s.changes))},
          {"lag_p50_hours", quantile(s.lag_hours, 0.5)},
          {"lag_p95_hours", quantile(s.lag_hours, 0.95)}};
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The uniform schedule's index history with interval I; returns the fetches in the window.
std::uint64_t uniform(const std::vector<page>& pages, double start, double from, double to,
                      double interval, std::uint64_t seed,
                      std::vector<std::vector<index_event>>* idx) {
  std::uint64_t fetches = 0;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const page& p = pages[i];
    if (idx) (*idx)[i].clear();
    const double phase =
        static_cast<double>(splitmix(seed * 1000003 + i) >> 11) * 0x1.0p-53 * interval;
    const double first = std::max(start, p.born);
    // The first grid point at or after the page's birth.
    double k = std::ceil((first - start - phase) / interval);
    if (k < 0) k = 0;
    std::int64_t held = -1;
    if (p.born <= start) {
      // Warm: the pages there at the start are held as they are then (the window begins after
      // the crawler's warm-up, so neither schedule is measured cold).
      held = version_at(p, start);
      if (idx) (*idx)[i].push_back({start, held});
    }
    for (double t = start + phase + k * interval; t < to; t += interval) {
      if (t >= from) ++fetches;
      if (t >= p.deleted) {
        if (idx) (*idx)[i].push_back({t, -1});
        break;
      }
      if (flapping_at(p, t)) continue;
      const std::int64_t v = version_at(p, t);
      if (v != held) {
        held = v;
        if (idx) (*idx)[i].push_back({t, v});
      }
    }
  }
  return fetches;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: trawler-bench-freshness-live --truth FILE --records FILE "
               "[--warmup-days W] [--end-ms T] [--seed S] [--check]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string truth_path, records_path;
  double warmup_days = 1;
  double end_ms = 0;
  std::uint64_t seed = 1;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--truth") {
      truth_path = next();
    } else if (a == "--records") {
      records_path = next();
    } else if (a == "--warmup-days") {
      warmup_days = std::atof(next());
    } else if (a == "--end-ms") {
      end_ms = std::atof(next());
    } else if (a == "--seed") {
      seed = std::strtoull(next(), nullptr, 10);
    } else if (a == "--check") {
      check = true;
    } else {
      usage();
    }
  }
  if (truth_path.empty() || records_path.empty()) usage();

  // The ground truth.
  std::ifstream truth(truth_path);
  if (!truth) {
    std::fprintf(stderr, "trawler-bench-freshness-live: cannot read %s\n", truth_path.c_str());
    return 1;
  }
  json site;
  std::vector<page> pages;
  std::unordered_map<std::string, std::size_t> by_url;
  std::string line;
  try {
    while (std::getline(truth, line)) {
      if (line.empty()) continue;
      const json j = json::parse(line);
      const std::string type = j.at("type");
      if (type == "site") {
        site = j;
      } else if (type == "page") {
        const auto n = j.at("page").get<std::size_t>();
        if (pages.size() <= n) pages.resize(n + 1);
        page& p = pages[n];
        p.url = j.at("url");
        p.cls = j.at("class");
        p.validators = j.at("validators");
        p.born = j.at("born_ms");
        if (!j.at("deleted_ms").is_null()) p.deleted = j.at("deleted_ms");
        for (const auto& c : j.at("changes_ms")) p.changes.push_back(c);
        for (const auto& f : j.at("flaps_ms")) p.flaps.emplace_back(f.at(0), f.at(1));
        by_url[p.url] = n;
      } else if (type == "serve") {
        const auto n = j.at("page").get<std::size_t>();
        if (n >= pages.size()) throw std::runtime_error("an answer for an unknown page");
        pages[n].serves.push_back(
            {j.at("at_ms"), j.at("status"), j.at("version"), j.at("bytes"), j.at("would_bytes")});
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trawler-bench-freshness-live: %s: %s\n", truth_path.c_str(), e.what());
    return 1;
  }
  if (site.is_null() || pages.empty()) {
    std::fprintf(stderr, "trawler-bench-freshness-live: %s has no site\n", truth_path.c_str());
    return 1;
  }
  const double start = site.at("start_unix_ms");
  const double day_ms = site.at("day_ms").get<double>();
  const double stop = site.at("stop_unix_ms");
  const double to = end_ms > 0 ? std::min(end_ms, stop) : stop;
  const double from = start + warmup_days * day_ms;
  if (!(from < to)) {
    std::fprintf(stderr, "trawler-bench-freshness-live: the warm-up covers the whole run\n");
    return 2;
  }

  // The records, each matched with the answer it got.
  std::ifstream in(records_path);
  if (!in) {
    std::fprintf(stderr, "trawler-bench-freshness-live: cannot read %s\n", records_path.c_str());
    return 1;
  }
  std::uint64_t records = 0, unknown_urls = 0, unmatched = 0, status_mismatches = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "trawler-bench-freshness-live: a record is no JSON: %s\n", e.what());
      return 1;
    }
    const std::string url = j.value("url", "");
    const auto it = by_url.find(url);
    if (it == by_url.end()) {
      if (!url.ends_with("/robots.txt")) ++unknown_urls;
      continue;
    }
    ++records;
    page& p = pages[it->second];
    record r;
    const auto at = parse_rfc3339(j.value("fetched_at", ""));
    if (!at) {
      std::fprintf(stderr, "trawler-bench-freshness-live: a record without fetched_at\n");
      return 1;
    }
    r.at = *at;
    if (j.contains("next_visit_at") && j["next_visit_at"].is_string()) {
      if (const auto due = parse_rfc3339(j["next_visit_at"].get<std::string>())) r.next_due = *due;
    }
    r.change = j.value("change", "");
    if (j.contains("status") && j["status"].is_number_integer()) r.status = j["status"];
    p.records.push_back(std::move(r));
  }
  for (page& p : pages) {
    std::stable_sort(p.records.begin(), p.records.end(),
                     [](const record& a, const record& b) { return a.at < b.at; });
    for (record& r : p.records) {
      if (r.status == 0) continue;
      const auto it = std::upper_bound(p.serves.begin(), p.serves.end(), r.at + 1.0,
                                       [](double t, const serve& s) { return t < s.at; });
      if (it == p.serves.begin()) {
        ++unmatched;
        continue;
      }
      r.answer = &*std::prev(it);
      if (r.answer->status != r.status) ++status_mismatches;
    }
  }

  // The crawler's index, and what its records got right and wrong.
  std::vector<std::vector<index_event>> crawled(pages.size());
  std::uint64_t gone_records = 0, false_gone = 0, false_changed = 0, false_changed_churn = 0;
  std::uint64_t churn_revisits_200 = 0, false_unchanged = 0, deletions = 0, deletions_gone = 0;
  std::vector<double> late_minutes;
  std::map<std::string, std::uint64_t> change_counts;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const page& p = pages[i];
    std::int64_t held = -1;
    bool seen_200 = false;
    for (std::size_t k = 0; k < p.records.size(); ++k) {
      const record& r = p.records[k];
      const bool in_window = r.at >= from && r.at < to;
      if (in_window) ++change_counts[r.change];
      if (k + 1 < p.records.size() && r.next_due < inf && in_window) {
        late_minutes.push_back((p.records[k + 1].at - r.next_due) / day_ms * 1440);
      }
      const std::int64_t seen = r.answer ? r.answer->version : -1;
      if (r.status == 200 && seen_200 && p.cls == "churn" && in_window) ++churn_revisits_200;
      if (r.status == 200) seen_200 = true;
      if (r.change == "new" || r.change == "changed") {
        if (!r.answer || r.answer->status != 200) {
          ++status_mismatches;
          continue;
        }
        if (r.change == "changed" && seen == held) {
          ++false_changed;
          if (p.cls == "churn") ++false_changed_churn;
        }
        held = seen;
        crawled[i].push_back({r.at, held});
      } else if (r.change == "unchanged" || r.change == "not_modified") {
        if (r.answer && seen != held) ++false_unchanged;
      } else if (r.change == "gone") {
        ++gone_records;
        if (r.answer && r.answer->at < p.deleted) ++false_gone;
        held = -1;
        crawled[i].push_back({r.at, -1});
      }
    }
    if (p.deleted >= from && p.deleted < to) {
      ++deletions;
      for (const auto& r : p.records)
        if (r.at >= p.deleted && r.change == "gone") {
          ++deletions_gone;
          break;
        }
    }
  }

  // Fetches, revisits and bytes, from the site's answers in the window.
  std::uint64_t fetches = 0, revisits = 0, not_modified = 0, revisits_200_bytes = 0, saved = 0;
  std::uint64_t unchanged_revisits = 0, unchanged_revisits_304 = 0, body_bytes = 0;
  std::map<std::string, std::uint64_t> fetches_by_class;
  std::map<std::string, std::uint64_t> not_modified_by_host;
  std::map<std::string, double> live_days_by_class;
  double live_days = 0;
  for (const page& p : pages) {
    const double lo = std::max(from, p.born), hi = std::min(to, p.deleted);
    if (lo < hi) {
      live_days += (hi - lo) / day_ms;
      live_days_by_class[p.cls] += (hi - lo) / day_ms;
    }
    const bool honours =
        p.validators == "both" || p.validators == "etag" || p.validators == "last-modified";
    std::int64_t last_version = -1;
    bool first = true;
    for (const serve& s : p.serves) {
      const bool in_window = s.at >= from && s.at < to;
      const bool revisit = last_version >= 0 && (s.status == 200 || s.status == 304);
      if (in_window) {
        ++fetches;
        if (!first) ++revisits;
        ++fetches_by_class[p.cls];
        body_bytes += s.bytes;
        if (s.status == 304) {
          ++not_modified;
          ++not_modified_by_host[p.validators];
        }
        if (honours && revisit) {
          if (s.status == 304) saved += s.would_bytes;
          if (s.status == 200) revisits_200_bytes += s.bytes;
          if (s.version == last_version) {
            ++unchanged_revisits;
            if (s.status == 304) ++unchanged_revisits_304;
          }
        }
      }
      if (s.status == 200 || s.status == 304) last_version = s.version;
      first = false;
    }
  }
  const double days = (to - from) / day_ms;
  const double mean_live_pages = live_days / days;
  json per_class = json::object();
  for (const auto& [cls, n] : fetches_by_class) {
    per_class[cls] = share(static_cast<double>(n), live_days_by_class[cls]);
  }

  const scores crawl = score(pages, crawled, from, to, day_ms);

  // The uniform schedule with as many fetches in the window.
  double lo_i = day_ms / 1e4, hi_i = (to - start) * 4;
  for (int it = 0; it < 60; ++it) {
    const double mid = std::sqrt(lo_i * hi_i);
    if (uniform(pages, start, from, to, mid, seed, nullptr) > fetches) {
      lo_i = mid;
    } else {
      hi_i = mid;
    }
  }
  std::vector<std::vector<index_event>> uni(pages.size());
  const std::uint64_t uni_fetches = uniform(pages, start, from, to, hi_i, seed, &uni);
  const scores uscore = score(pages, uni, from, to, day_ms);

  json crawler = freshness_json(crawl);
  crawler.update(json{
      {"records", records},
      {"changes_recorded", change_counts},
      {"fetches", fetches},
      {"fetches_per_page_day", share(static_cast<double>(fetches), live_days)},
      {"fetches_per_page_day_by_class", per_class},
      {"revisits", revisits},
      {"revisits_per_page", share(static_cast<double>(revisits), mean_live_pages)},
      {"late_p50_minutes", quantile(late_minutes, 0.5)},
      {"late_p95_minutes", quantile(late_minutes, 0.95)},
      {"gone_records", gone_records},
      {"false_gone", false_gone},
      {"deletions", deletions},
      {"deletions_recorded_gone", deletions_gone},
      {"false_changed", false_changed},
      {"false_changed_churn", false_changed_churn},
      {"churn_revisits_200", churn_revisits_200},
      {"false_unchanged", false_unchanged},
      {"not_modified", not_modified},
      {"not_modified_by_host", not_modified_by_host},
      {"body_bytes", body_bytes},
      {"bytes_saved", saved},
      {"bytes_saved_share",
       share(static_cast<double>(saved), static_cast<double>(saved + revisits_200_bytes))},
      {"unchanged_revisits_304_share",
       share(static_cast<double>(unchanged_revisits_304), static_cast<double>(unchanged_revisits))},
      {"unmatched_records", unmatched},
      {"status_mismatches", status_mismatches},
      {"unknown_urls", unknown_urls},
  });
  json uniform_json = freshness_json(uscore);
  uniform_json["fetches"] = uni_fetches;
  uniform_json["interval_hours"] = hi_i / day_ms * 24;
  bool any_deleted = false;
  for (const page& p : pages) any_deleted = any_deleted || p.deleted < inf;
  const json out = {
      {"site",
       {{"pages", site.value("pages", 0)},
        {"total_pages", site.value("total_pages", 0)},
        {"hosts", site.value("hosts", 0)},
        {"seed", site.value("seed", 0)},
        {"day_ms", day_ms}}},
      {"window",
       {{"days", days}, {"warmup_days", warmup_days}, {"mean_live_pages", mean_live_pages}}},
      {"crawler", crawler},
      {"uniform", uniform_json},
  };
  std::cout << out.dump() << "\n";
  if (!check) return 0;

  std::vector<std::string> failed;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) failed.push_back(what);
  };
  auto unit = [](double v) { return v >= 0 && v <= 1; };
  expect(records > 0 && fetches > 0, "records and fetches in the window");
  expect(unit(share(crawl.fresh, crawl.live)) && crawl.live > 0, "crawler freshness in [0, 1]");
  expect(unit(share(uscore.fresh, uscore.live)), "uniform freshness in [0, 1]");
  expect(unit(share(static_cast<double>(crawl.caught), static_cast<double>(crawl.changes))),
         "caught share in [0, 1]");
  expect(unmatched == 0, "every record matched with an answer of the site");
  expect(status_mismatches == 0, "every record's status is the answer's");
  expect(unknown_urls == 0, "no record of a URL the site does not have");
  expect(false_gone == 0, "no false gone");
  expect(any_deleted || gone_records == 0, "no gone on a site without deletions");
  expect(false_changed == 0 && false_changed_churn == 0, "no false changed");
  expect(churn_revisits_200 > 0, "churn-only pages revisited with a 200");
  expect(false_unchanged == 0, "no false unchanged / not_modified");
  expect(not_modified > 0, "some 304s");
  expect(std::abs(static_cast<double>(uni_fetches) - static_cast<double>(fetches)) <=
             0.05 * static_cast<double>(fetches) + 2,
         "the uniform schedule's fetches match the crawler's");
  for (const auto& f : failed) std::fprintf(stderr, "check failed: %s\n", f.c_str());
  return failed.empty() ? 0 : 1;
}
