#include "crawl/visit_keeper.hpp"

#include <re2/re2.h>

#include "state/crawl_state.hpp"
#include "url/url.hpp"

namespace trawler::crawl {

namespace {

using steady = std::chrono::steady_clock;
using system = std::chrono::system_clock;

recrawl::millis unix_ms(system::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

system::time_point from_unix_ms(recrawl::millis t) {
  return system::time_point(std::chrono::milliseconds(t));
}

// A seed (depth 0, no referrer) or a sitemap file: where new URLs appear.
bool is_hub(const frontier::url_entry& e) {
  return e.sitemap || (e.depth == 0 && !e.referrer);
}

}  // namespace

struct visit_keeper::rule {
  std::unique_ptr<re2::RE2> match;
  config::recrawl_rule bounds;
};

visit_keeper::visit_keeper(const config::crawl_config& cfg, frontier::frontier& schedule)
    : schedule_(schedule) {
  const auto& r = cfg.recrawl;
  mode_ = r.mode == "continuous" ? mode::continuous : r.mode == "pass" ? mode::pass : mode::off;
  base_.interval = r.interval_ms;
  base_.min_interval = r.min_interval_ms;
  base_.max_interval = r.max_interval_ms;
  base_.grow = r.grow;
  base_.shrink = r.shrink;
  base_.jitter = r.jitter;
  base_.error_interval = r.error_interval_ms;
  base_.gone_after = r.gone_after;
  base_.unreachable = r.unreachable_ms;
  lastmod_mode_ = cfg.sitemaps.lastmod;
  RE2::Options options;
  options.set_log_errors(false);
  for (const auto& rl : r.rules) {
    rules_.push_back({std::make_unique<re2::RE2>(rl.match, options), rl});
  }
}

visit_keeper::~visit_keeper() = default;

recrawl::policy visit_keeper::policy_for(const std::string& url) const {
  recrawl::policy p = base_;
  for (const auto& r : rules_) {
    if (!r.match->ok() || !re2::RE2::PartialMatch(url, *r.match)) continue;
    if (r.bounds.interval_ms) p.interval = r.bounds.interval_ms;
    if (r.bounds.min_interval_ms) p.min_interval = r.bounds.min_interval_ms;
    if (r.bounds.max_interval_ms) p.max_interval = r.bounds.max_interval_ms;
    break;
  }
  return p;
}

std::optional<recrawl::visit_row> visit_keeper::row_of(const std::string& url) const {
  if (!store_) {
    const auto it = held_.find(url);
    if (it == held_.end()) return std::nullopt;
    return recrawl::decode(it->second);
  }
  auto bytes = store_->visit(url);
  if (!bytes) return std::nullopt;
  return recrawl::decode(*bytes);
}

steady::time_point visit_keeper::hold(frontier::url_entry& e, std::string row) {
  auto now = steady::now();
  if (const auto r = recrawl::decode(row)) {
    e.visit_stamp = r->visits;
    // Its lag counts from when it came due (the fleet's clocks agree to NTP's precision).
    const auto late = unix_ms(system::now()) - r->next_due;
    if (late > 0) now -= std::chrono::milliseconds(late);
  }
  held_[e.url] = std::move(row);
  return now;
}

void visit_keeper::resume() {
  if (!on() || !store_) return;
  const auto now_sys = system::now();
  const auto now = steady::now();
  std::vector<std::string> done;
  store_->for_each_url([&](std::string_view url, bool is_done) {
    if (is_done) done.emplace_back(url);
  });
  frontier::shared_text last_referrer;
  for (auto& u : done) {
    auto parts = url::split(u);
    if (!parts) continue;
    auto info = store_->find(u);
    frontier::url_entry e;
    e.host = schedule_.host_for(url::host_key(*parts));
    if (info) {
      e.depth = info->depth;
      e.sitemap = info->sitemap;
      e.requisite = info->requisite;
      if (!info->referrer.empty()) {
        if (!last_referrer || *last_referrer != info->referrer)
          last_referrer = std::make_shared<const std::string>(std::move(info->referrer));
        e.referrer = last_referrer;
      }
    }
    // A revisit starts with the whole redirect allowance, as a link does.
    e.redirects_left = 10;
    auto due = now;
    if (mode_ == mode::continuous) {
      if (auto row = row_of(u)) {
        const auto wait = std::chrono::milliseconds(row->next_due - unix_ms(now_sys));
        if (wait.count() > 0) due = now + wait;
      }
    }
    if (auto row = row_of(u)) e.visit_stamp = row->visits;
    e.url = std::move(u);
    schedule_.push_revisit(std::move(e), due);
  }
}

std::vector<std::pair<std::string, std::string>> visit_keeper::validators_for(
    const frontier::url_entry& e) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!on()) return out;
  auto row = row_of(e.url);
  if (!row) return out;
  auto v = recrawl::validators_for(*row, unix_ms(system::now()), policy_for(e.url));
  // RFC 9110 13.1.3: a server that has the ETag ignores If-Modified-Since; both go out, so a
  // server with only one of the two kinds of validator still answers 304.
  if (!v.if_none_match.empty()) out.emplace_back("If-None-Match", v.if_none_match);
  if (!v.if_modified_since.empty()) out.emplace_back("If-Modified-Since", v.if_modified_since);
  if (!out.empty()) ++counts_.conditional;
  return out;
}

std::optional<std::string> visit_keeper::known_body(const frontier::url_entry& e) const {
  if (!on()) return std::nullopt;
  auto row = row_of(e.url);
  if (!row || !row->indexed || !row->body) return std::nullopt;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (auto b : *row->body) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::optional<recrawl::capture> visit_keeper::archived_capture(const frontier::url_entry& e) const {
  if (!on()) return std::nullopt;
  auto row = row_of(e.url);
  if (!row || !row->indexed) return std::nullopt;
  return row->archived;
}

void visit_keeper::visited(const frontier::url_entry& e, record::fetch_record& r,
                           recrawl::outcome o) {
  if (!on()) return;
  const auto now_sys = system::now();
  const recrawl::millis now = unix_ms(now_sys);
  const auto prev = row_of(e.url);
  const auto d =
      recrawl::decide(prev, o, now, policy_for(e.url), is_hub(e), frontier::url_hash(e.url));
  ++counts_.changes[static_cast<std::size_t>(d.what)];
  if (d.validators_ignored) ++counts_.validators_ignored;
  if (d.what == recrawl::change::not_modified && prev) counts_.bytes_saved += prev->size;

  record::visit_facts f;
  f.change = std::string(recrawl::change_name(d.what));
  f.gone_reason = std::string(recrawl::gone_reason_name(d.reason));
  f.visit = d.row.visits;
  if (d.row.last_change != 0) f.last_changed_at = from_unix_ms(d.row.last_change);
  f.next_visit_at = from_unix_ms(d.row.next_due);
  r.visit = std::move(f);
  r.content_omitted =
      d.what == recrawl::change::unchanged || d.what == recrawl::change::not_modified;

  if (store_) store_->put_visit(e.url, recrawl::encode(d.row));
  if (e.lastmod) {
    auto& lm = lastmod_hosts_[e.host];
    ++lm.visits;
    if (d.what == recrawl::change::changed || d.what == recrawl::change::gone ||
        d.what == recrawl::change::created) {
      ++lm.changed;
    }
  }
  if (fleet_) {
    // With the record, to the host's bucket: the next visit is whoever owns it then.
    held_.erase(e.url);
    frontier::url_entry next = e;
    next.attempts = 0;
    next.lastmod = false;
    fleet_->keep_visit(next, recrawl::encode(d.row), d.row.next_due);
    return;
  }
  if (mode_ == mode::continuous) {
    frontier::url_entry next = e;
    next.attempts = 0;
    next.lastmod = false;
    next.visit_stamp = d.row.visits;
    const auto wait = std::chrono::milliseconds(std::max<recrawl::millis>(0, d.row.next_due - now));
    schedule_.push_revisit(std::move(next), steady::now() + wait);
  }
}

bool visit_keeper::lastmod_trusted(frontier::host_id h) const {
  if (lastmod_mode_ == "trust") return true;
  if (lastmod_mode_ != "auto") return false;
  // Google's "consistently and verifiably accurate": after 5 lastmod-driven visits, the host's
  // lastmod is followed only while at least 80% of them found a change.
  const auto it = lastmod_hosts_.find(h);
  if (it == lastmod_hosts_.end() || it->second.visits < 5) return true;
  return it->second.changed * 5 >= it->second.visits * 4;
}

void visit_keeper::lastmod_hint(const std::string& url, std::int64_t lastmod_ms) {
  if (mode_ != mode::continuous || lastmod_mode_ == "ignore") return;
  const auto row = row_of(url);
  if (!row || lastmod_ms <= row->last_visit) return;
  auto parts = url::split(url);
  if (!parts) return;
  const frontier::host_id host = schedule_.host_for(url::host_key(*parts));
  if (!lastmod_trusted(host)) return;
  const recrawl::millis now = unix_ms(system::now());
  const auto p = policy_for(url);
  const recrawl::millis due =
      std::max(now, row->last_visit + std::min(p.min_interval, p.max_interval));
  if (due >= row->next_due) return;  // due sooner anyway
  frontier::url_entry e;
  e.url = url;
  e.host = host;
  if (store_) {
    if (auto info = store_->find(url)) {
      e.depth = info->depth;
      e.sitemap = info->sitemap;
      e.requisite = info->requisite;
      if (!info->referrer.empty())
        e.referrer = std::make_shared<const std::string>(std::move(info->referrer));
    }
  }
  e.redirects_left = 10;
  e.lastmod = true;
  e.visit_stamp = row->visits;
  ++counts_.lastmod_hints;
  schedule_.push_revisit(
      std::move(e),
      steady::now() + std::chrono::milliseconds(std::max<recrawl::millis>(0, due - now)));
}

bool visit_keeper::stale(const frontier::url_entry& e) const {
  if (e.visit_stamp == 0) return false;
  const auto row = row_of(e.url);
  return row && row->visits != e.visit_stamp;
}

void visit_keeper::untried(const frontier::url_entry& e, record::fetch_record& r) {
  if (!on()) return;
  recrawl::outcome o;
  o.what = r.error == error_kind::robots ? recrawl::outcome::kind::robots
                                         : recrawl::outcome::kind::failed;
  visited(e, r, std::move(o));
}

void visit_keeper::cancelled(const frontier::url_entry& e, record::fetch_record& r) {
  if (!on()) return;
  const auto prev = row_of(e.url);
  held_.erase(e.url);
  record::visit_facts f;
  f.change = std::string(recrawl::change_name(recrawl::change::failed));
  f.visit = prev ? prev->visits : 0;
  if (prev && prev->last_change != 0) f.last_changed_at = from_unix_ms(prev->last_change);
  // Fetched again at the next start.
  f.next_visit_at = system::now();
  r.visit = std::move(f);
}

recrawl_counts visit_keeper::counts() const {
  recrawl_counts c = counts_;
  c.waiting = schedule_.revisits();
  const auto now = steady::now();
  if (!due_counted_at_ || now - *due_counted_at_ >= std::chrono::seconds(1)) {
    due_ = schedule_.revisits_due(now);
    due_counted_at_ = now;
  }
  c.due = due_;
  return c;
}

}  // namespace trawler::crawl
