// Freshness of the recrawl schedule (SPEC additions "Recrawl"), simulated: pages change at
// known random rates on a simulated clock, and recrawl::decide (the very rule the crawler
// runs) picks every next visit. Against it, a uniform schedule that is given the same number
// of fetches. No HTTP, no parse: this measures the policy, in seconds of CPU.
//
//   trawler-bench-freshness [--pages N] [--days D] [--warmup-days W] [--seed S]
//                           [--interval-hours H] [--min-hours H] [--max-days D] [--grow G]
//                           [--shrink S] [--json] [--check]
//
// --check exits 1 unless the adaptive schedule is at least as fresh as the uniform one, catches
// at least as many changes, records no flapping 404 as gone and no churn-only visit as changed.
//
// The model (bench/README.md "Freshness"): changes are Poisson, mean interval 1 hour for 5% of
// the pages, 1 day for 20%, 1 week for 50%, never for 25%; 10% of the pages change their markup
// (a nonce) on every fetch without a change of text; 70% answer conditional requests (304 when
// unchanged); 3% flap (a 404 for a few minutes, now and then) and 1% are deleted (410) at a
// random time. Freshness is the time-averaged share of pages whose last recorded copy is the
// live one (a deleted page is fresh once recorded gone); a change is caught when a visit records
// it before the next change.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "recrawl/visit.hpp"

namespace rc = trawler::recrawl;
using rc::millis;

namespace {

constexpr millis minute = 60000;
constexpr millis hour = 60 * minute;
constexpr millis day = 24 * hour;
constexpr millis epoch = 1780000000000;  // the simulation's t = 0, as Unix ms

struct page {
  std::vector<millis> changes;  // when its content changed (version i starts at changes[i-1])
  millis deleted_at = -1;       // 410 from then on (-1: never)
  std::vector<std::pair<millis, millis>> flaps;  // [from, to): 404
  bool churn = false;                            // markup changes on every fetch
  bool validators = false;                       // answers conditional requests
  double mean_change = 0;                        // 0: never changes
};

int version_at(const page& p, millis t) {
  return static_cast<int>(std::upper_bound(p.changes.begin(), p.changes.end(), t) -
                          p.changes.begin());
}

bool flapping_at(const page& p, millis t) {
  for (const auto& [a, b] : p.flaps)
    if (t >= a && t < b) return true;
  return false;
}

rc::digest digest_of(std::uint64_t v) {
  rc::digest d{};
  for (int i = 0; i < 8; ++i) d[i] = static_cast<std::uint8_t>(v >> (8 * i));
  d[8] = 0x5a;
  return d;
}

std::vector<page> make_site(int n, millis horizon, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<page> pages(static_cast<std::size_t>(n));
  for (auto& p : pages) {
    const double r = u(rng);
    p.mean_change = r < 0.05 ? hour : r < 0.25 ? day : r < 0.75 ? 7.0 * day : 0;
    p.churn = u(rng) < 0.10;
    p.validators = u(rng) < 0.70;
    if (p.mean_change > 0) {
      std::exponential_distribution<double> gap(1.0 / p.mean_change);
      for (double t = gap(rng); t < static_cast<double>(horizon); t += gap(rng))
        p.changes.push_back(static_cast<millis>(t));
    }
    if (u(rng) < 0.01) p.deleted_at = static_cast<millis>(u(rng) * static_cast<double>(horizon));
    if (u(rng) < 0.03) {
      // A 404 for 5 to 30 minutes, about every 2 days.
      std::exponential_distribution<double> gap(1.0 / (2.0 * day));
      for (double t = gap(rng); t < static_cast<double>(horizon); t += gap(rng)) {
        const auto from = static_cast<millis>(t);
        p.flaps.emplace_back(from, from + 5 * minute + static_cast<millis>(u(rng) * 25 * minute));
      }
    }
  }
  return pages;
}

// What one schedule recorded of one page: (visit time, version seen; -1 gone, -2 no news).
struct visit_log {
  std::vector<std::pair<millis, int>> seen;
};

struct totals {
  std::uint64_t fetches = 0;  // in the measured window
  double freshness = 0;
  std::uint64_t changes = 0, caught = 0;  // pages changing daily or slower
  std::vector<double> lag_ratio;          // caught change: lag / the page's mean interval
  std::uint64_t churn_visits = 0, churn_false_changed = 0;
  std::uint64_t unchanged_conditional = 0, not_modified = 0;  // validator pages, no change
  std::uint64_t false_gone = 0, deletions = 0, deletions_seen = 0;
};

// Time-averaged freshness of one page over [from, to) given what was recorded when.
double page_freshness(const page& p, const visit_log& log, millis from, millis to) {
  // Live state: version, or -1 once deleted. Recorded state: the last visit's.
  std::vector<millis> cuts{from, to};
  for (millis c : p.changes)
    if (c > from && c < to) cuts.push_back(c);
  if (p.deleted_at > from && p.deleted_at < to) cuts.push_back(p.deleted_at);
  for (const auto& [t, v] : log.seen)
    if (t > from && t < to) cuts.push_back(t);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  double fresh = 0;
  std::size_t li = 0;
  int recorded = -3;  // nothing yet
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const millis t = cuts[i];
    while (li < log.seen.size() && log.seen[li].first <= t) {
      if (log.seen[li].second != -2) recorded = log.seen[li].second;
      ++li;
    }
    const int live = p.deleted_at >= 0 && t >= p.deleted_at ? -1 : version_at(p, t);
    if (recorded == live) fresh += static_cast<double>(cuts[i + 1] - t);
  }
  return fresh / static_cast<double>(to - from);
}

void score(const std::vector<page>& pages, const std::vector<visit_log>& logs, millis from,
           millis to, totals& out) {
  double sum = 0;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const page& p = pages[i];
    sum += page_freshness(p, logs[i], from, to);
    if (p.mean_change >= day) {
      for (std::size_t c = 0; c < p.changes.size(); ++c) {
        const millis at = p.changes[c];
        if (at < from || at >= to) continue;
        if (p.deleted_at >= 0 && at >= p.deleted_at) break;
        const millis next = c + 1 < p.changes.size() ? p.changes[c + 1] : to;
        ++out.changes;
        for (const auto& [t, v] : logs[i].seen) {
          if (t >= at && t < next && v == static_cast<int>(c + 1)) {
            ++out.caught;
            out.lag_ratio.push_back(static_cast<double>(t - at) / p.mean_change);
            break;
          }
        }
      }
    }
  }
  out.freshness = sum / static_cast<double>(pages.size());
}

// The adaptive schedule: every visit goes through recrawl::decide.
std::vector<visit_log> run_adaptive(const std::vector<page>& pages, const rc::policy& pol,
                                    millis horizon, millis warmup, totals& t) {
  std::vector<visit_log> logs(pages.size());
  std::vector<std::optional<rc::visit_row>> rows(pages.size());
  using item = std::pair<millis, std::size_t>;
  std::priority_queue<item, std::vector<item>, std::greater<>> due;
  // The first crawl discovers the pages over the first hour.
  for (std::size_t i = 0; i < pages.size(); ++i)
    due.emplace(static_cast<millis>(i) * hour / static_cast<millis>(pages.size()), i);
  std::uint64_t churn_nonce = 0;
  while (!due.empty() && due.top().first < horizon) {
    const auto [now, i] = due.top();
    due.pop();
    const page& p = pages[i];
    rc::outcome o;
    int seen = -2;
    const bool measured = now >= warmup;
    const auto& row = rows[i];
    const bool sent = row && rc::validators_for(*row, epoch + now, pol).any();
    o.validators_sent = sent;
    if (p.deleted_at >= 0 && now >= p.deleted_at) {
      o.what = rc::outcome::kind::removed;
    } else if (flapping_at(p, now)) {
      o.what = rc::outcome::kind::not_found;
    } else {
      const int v = version_at(p, now);
      const bool same = row && row->text == digest_of(static_cast<std::uint64_t>(v));
      if (measured && p.validators && same) ++t.unchanged_conditional;
      if (p.validators && sent && same) {
        o.what = rc::outcome::kind::not_modified;
        if (measured) ++t.not_modified;
      } else {
        o.what = rc::outcome::kind::ok;
        o.text = digest_of(static_cast<std::uint64_t>(v));
        o.body = p.churn ? digest_of((1ull << 40) + ++churn_nonce) : o.text;
        if (p.validators) o.etag = "\"v" + std::to_string(v) + "\"";
      }
      seen = v;
    }
    const auto d = rc::decide(row, o, epoch + now, pol, false, i * 0x9e3779b97f4a7c15ull);
    if (d.what == rc::change::gone) {
      seen = -1;
      if (measured && (p.deleted_at < 0 || now < p.deleted_at)) ++t.false_gone;
    }
    if (d.what == rc::change::failed) seen = -2;  // a flap: the old copy stands
    if (measured && p.churn && o.what == rc::outcome::kind::ok) {
      ++t.churn_visits;
      if (d.what == rc::change::changed && row && row->text == o.text) ++t.churn_false_changed;
    }
    rows[i] = d.row;
    logs[i].seen.emplace_back(now, seen);
    if (measured) ++t.fetches;
    due.emplace(d.row.next_due - epoch, i);
  }
  for (std::size_t i = 0; i < pages.size(); ++i) {
    if (pages[i].deleted_at >= warmup && pages[i].deleted_at < horizon) {
      ++t.deletions;
      for (const auto& [when, v] : logs[i].seen)
        if (when >= pages[i].deleted_at && v == -1) {
          ++t.deletions_seen;
          break;
        }
    }
  }
  return logs;
}

// The uniform schedule: every page every `interval`, at a random phase; a visit records what it
// finds (a flap keeps the old copy).
std::vector<visit_log> run_uniform(const std::vector<page>& pages, millis interval, millis horizon,
                                   millis warmup, std::mt19937_64& rng, totals& t) {
  std::vector<visit_log> logs(pages.size());
  std::uniform_real_distribution<double> u(0, 1);
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const page& p = pages[i];
    logs[i].seen.emplace_back(static_cast<millis>(i) * hour / static_cast<millis>(pages.size()),
                              version_at(p, 0));
    for (millis now = static_cast<millis>(u(rng) * static_cast<double>(interval)); now < horizon;
         now += interval) {
      int seen = version_at(p, now);
      if (p.deleted_at >= 0 && now >= p.deleted_at) seen = -1;
      if (flapping_at(p, now)) seen = -2;
      logs[i].seen.emplace_back(now, seen);
      if (now >= warmup) ++t.fetches;
    }
  }
  return logs;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  int pages_n = 10000;
  int days = 60;
  int warmup_days = 14;
  std::uint64_t seed = 1;
  bool as_json = false;
  bool check = false;  // exit 1 unless the policy's invariants hold (a regression test)
  double min_hours = 1, interval_hours = 24, max_days = 30, grow = 0.5, shrink = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "trawler-bench-freshness: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--pages") {
      pages_n = std::atoi(next());
    } else if (a == "--days") {
      days = std::atoi(next());
    } else if (a == "--warmup-days") {
      warmup_days = std::atoi(next());
    } else if (a == "--seed") {
      seed = std::strtoull(next(), nullptr, 10);
    } else if (a == "--min-hours") {
      min_hours = std::atof(next());
    } else if (a == "--interval-hours") {
      interval_hours = std::atof(next());
    } else if (a == "--max-days") {
      max_days = std::atof(next());
    } else if (a == "--grow") {
      grow = std::atof(next());
    } else if (a == "--shrink") {
      shrink = std::atof(next());
    } else if (a == "--check") {
      check = true;
    } else if (a == "--json") {
      as_json = true;
    } else {
      std::fprintf(stderr,
                   "usage: trawler-bench-freshness [--pages N] [--days D] [--warmup-days W] "
                   "[--seed S] [--json]\n");
      return 2;
    }
  }
  if (pages_n < 1 || days < 2 || warmup_days < 0 || warmup_days >= days) {
    std::fprintf(stderr, "trawler-bench-freshness: need pages >= 1 and 0 <= warmup < days\n");
    return 2;
  }
  const millis horizon = days * day;
  const millis warmup = warmup_days * day;
  std::mt19937_64 rng(seed);
  const auto site = make_site(pages_n, horizon, rng);
  rc::policy pol;  // the defaults: 1 day, 1 hour .. 30 days, grow/shrink 0.5, jitter 0.1
  pol.min_interval = static_cast<millis>(min_hours * hour);
  pol.interval = static_cast<millis>(interval_hours * hour);
  pol.max_interval = static_cast<millis>(max_days * day);
  pol.grow = grow;
  pol.shrink = shrink;

  totals adaptive;
  const auto a_logs = run_adaptive(site, pol, horizon, warmup, adaptive);
  score(site, a_logs, warmup, horizon, adaptive);
  // The same number of fetches in the measured window, spread evenly over every page.
  const double per_page = static_cast<double>(adaptive.fetches) / pages_n;
  const auto interval =
      static_cast<millis>(static_cast<double>(horizon - warmup) / std::max(per_page, 1e-9));
  totals uniform;
  std::mt19937_64 rng2(seed + 1);
  const auto u_logs = run_uniform(site, interval, horizon, warmup, rng2, uniform);
  score(site, u_logs, warmup, horizon, uniform);

  auto share = [](std::uint64_t a, std::uint64_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  if (check) {
    const bool good =
        adaptive.freshness >= uniform.freshness &&
        share(adaptive.caught, adaptive.changes) >= share(uniform.caught, uniform.changes) &&
        adaptive.false_gone == 0 && adaptive.churn_false_changed == 0;
    std::printf(
        "adaptive freshness %.4f vs uniform %.4f; caught %.4f vs %.4f; false gone %llu; "
        "false changed %llu: %s\n",
        adaptive.freshness, uniform.freshness, share(adaptive.caught, adaptive.changes),
        share(uniform.caught, uniform.changes),
        static_cast<unsigned long long>(adaptive.false_gone),
        static_cast<unsigned long long>(adaptive.churn_false_changed), good ? "ok" : "FAILED");
    return good ? 0 : 1;
  }
  if (as_json) {
    std::printf(
        "{\"pages\":%d,\"days\":%d,\"warmup_days\":%d,\"seed\":%llu,"
        "\"adaptive\":{\"fetches\":%llu,\"freshness\":%.4f,\"changes_caught\":%.4f,"
        "\"lag_p95_over_mean_interval\":%.3f,\"false_changed_on_churn\":%.5f,"
        "\"not_modified_share\":%.4f,\"false_gone\":%llu,\"deletions_seen\":%.4f},"
        "\"uniform\":{\"fetches\":%llu,\"interval_hours\":%.2f,\"freshness\":%.4f,"
        "\"changes_caught\":%.4f}}\n",
        pages_n, days, warmup_days, static_cast<unsigned long long>(seed),
        static_cast<unsigned long long>(adaptive.fetches), adaptive.freshness,
        share(adaptive.caught, adaptive.changes), quantile(adaptive.lag_ratio, 0.95),
        share(adaptive.churn_false_changed, adaptive.churn_visits),
        share(adaptive.not_modified, adaptive.unchanged_conditional),
        static_cast<unsigned long long>(adaptive.false_gone),
        share(adaptive.deletions_seen, adaptive.deletions),
        static_cast<unsigned long long>(uniform.fetches),
        static_cast<double>(interval) / static_cast<double>(hour), uniform.freshness,
        share(uniform.caught, uniform.changes));
    return 0;
  }
  std::printf("%d pages, %d simulated days (the first %d not measured), seed %llu\n", pages_n, days,
              warmup_days, static_cast<unsigned long long>(seed));
  std::printf("%-34s %12s %12s\n", "", "adaptive", "uniform");
  std::printf("%-34s %12llu %12llu\n", "fetches (measured window)",
              static_cast<unsigned long long>(adaptive.fetches),
              static_cast<unsigned long long>(uniform.fetches));
  std::printf("%-34s %12.4f %12.4f\n", "freshness (time-averaged)", adaptive.freshness,
              uniform.freshness);
  std::printf("%-34s %12.4f %12.4f\n", "changes caught (daily or slower)",
              share(adaptive.caught, adaptive.changes), share(uniform.caught, uniform.changes));
  std::printf("%-34s %12.3f %12.3f\n", "p95 lag / mean change interval",
              quantile(adaptive.lag_ratio, 0.95), quantile(uniform.lag_ratio, 0.95));
  std::printf("%-34s %12.5f\n", "false changed on churn-only visits",
              share(adaptive.churn_false_changed, adaptive.churn_visits));
  std::printf("%-34s %12.4f\n", "unchanged visits answered 304",
              share(adaptive.not_modified, adaptive.unchanged_conditional));
  std::printf("%-34s %12llu\n", "false gone (flapping 404s)",
              static_cast<unsigned long long>(adaptive.false_gone));
  std::printf("%-34s %12.4f\n", "deletions recorded gone",
              share(adaptive.deletions_seen, adaptive.deletions));
  std::printf("uniform interval for the same fetches: %.2f hours\n",
              static_cast<double>(interval) / static_cast<double>(hour));
  return 0;
}
