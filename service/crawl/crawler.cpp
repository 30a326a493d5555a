#include "crawl/crawler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <thread>

#include "cluster/redis_frontier.hpp"
#include "common/log.hpp"
#include "crawl/admission.hpp"
#include "crawl/host_politeness.hpp"
#include "crawl/page_parse.hpp"
#include "crawl/recorder.hpp"
#include "crawl/robots_gate.hpp"
#include "crawl/run_clock.hpp"
#include "crawl/thread_priority.hpp"
#include "crawl/visit_keeper.hpp"
#include "extract/charset.hpp"
#include "fetch/fetcher.hpp"
#include "frontier/crawl_frontier.hpp"
#include "record/record.hpp"
#include "robots/robots_directives.hpp"
#include "state/crawl_state.hpp"
#include "url/url.hpp"
#include "warc/warc_writer.hpp"

namespace trawler::crawl {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

bool is_html(const std::optional<std::string>& media) {
  return media && (*media == "text/html" || *media == "application/xhtml+xml");
}

auto detached_logged(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error(std::string(what) + " ended with an exception: " + ex.what());
    } catch (...) {
      log::error(std::string(what) + " ended with an unknown exception");
    }
  };
}

fetch::fetch_settings fetch_settings_of(const config::crawl_config& c) {
  fetch::fetch_settings s;
  s.user_agent = c.robots.user_agent;
  s.extra_headers = c.fetch.headers;
  s.accept_encoding = c.fetch.accept_encoding;
  s.tls_verify = c.fetch.tls_verify;
  s.allow_private = c.network.allow_private;
  s.connect_timeout = milliseconds(c.limits.connect_timeout_ms);
  s.request_timeout = milliseconds(c.limits.timeout_ms);
  s.max_body_bytes = static_cast<std::size_t>(c.limits.max_body_bytes);
  s.max_idle_per_host = static_cast<std::size_t>(std::max(1, c.limits.per_host));
  for (const auto& [hp, addr] : c.network.resolve) s.pins.add(hp, addr);
  s.capture_wire = !c.output.warc.empty();
  return s;
}

frontier::options schedule_options_of(const config::crawl_config& c) {
  frontier::options o{c.limits.per_host, milliseconds(c.limits.delay_ms), c.robots.obey};
  o.revisit_share = c.recrawl.revisit_share;
  o.endless = c.recrawl.mode == "continuous";
  return o;
}

// The local frontier, or a fleet's on Redis when cluster.redis is set (validated with the
// config).
std::unique_ptr<frontier::crawl_frontier> make_frontier(const asio::any_io_executor& ex,
                                                        const config::crawl_config& c,
                                                        frontier::frontier_owner& owner) {
  if (c.cluster.redis.empty())
    return std::make_unique<frontier::local_frontier>(schedule_options_of(c), owner,
                                                      c.scope.max_pages);
  cluster::fleet_settings fs;
  // One node, or any nodes of a Redis Cluster (the rest are learned from them).
  fs.redis = redis::parse_urls(c.cluster.redis).values;
  fs.crawl_name = c.cluster.name;
  fs.lease = milliseconds(c.cluster.lease_ms);
  fs.buckets = c.cluster.buckets;
  fs.per_host = c.limits.per_host;
  fs.concurrency = c.limits.concurrency;
  fs.max_pages = c.scope.max_pages;
  fs.robots_ttl = milliseconds(c.robots.cache_ttl_ms);
  fs.recrawl = c.recrawl.mode == "continuous";
  return std::make_unique<cluster::redis_frontier>(ex, schedule_options_of(c), owner,
                                                   std::move(fs));
}

// One parse thread more than cores: with one per core, 2 cores were only 1.88 busy in a
// CPU-bound crawl with pages waiting to be parsed; one more thread brought it to 1.94
// (+3% pages/s).
unsigned pool_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return (n == 0 ? 1 : n) + 1;
}

}  // namespace

// The dispatcher and the way of one request. A page goes down one pipeline: fetch, the host's
// politeness and retry policy, the record's facts, parsing on the pool, admission of its links,
// settling them with the frontier, and the recorder. The nouns it passes through each keep
// their own state: the frontier (which URLs, when), the robots gate, host politeness,
// admission (scope, seen, sitemaps) and the recorder (records, counters).
struct crawler::impl final : frontier::frontier_owner {
  asio::any_io_executor ex;
  config::crawl_config cfg;
  std::unique_ptr<frontier::crawl_frontier> front;
  frontier::frontier& schedule;
  host_politeness politeness;
  robots_gate robots;
  recorder records;
  visit_keeper visits;
  admission admit;
  fetch::fetcher fetcher;
  asio::thread_pool pool;
  asio::steady_timer wake_timer;
  asio::steady_timer lag_timer;
  extract::options extract_opt;
  std::function<bool()> output_flush = [] { return true; };
  warc::warc_writer* archive = nullptr;

  crawl_stats carried;  // the runs before a resume (SPEC: stats are cumulative)
  steady::time_point started = steady::now();
  // The crawl's own time: paused intervals are not counted (elapsed_s, pages per second).
  run_clock clock;
  std::size_t open_requests = 0;
  std::size_t parsing = 0;
  std::size_t max_parse_backlog = std::max<std::size_t>(
      4 * pool_threads() + 4, static_cast<std::size_t>(cfg.limits.concurrency));
  bool dirty = false;
  bool stopping_ = false;
  bool paused_ = false;
  std::optional<steady::time_point> cancel_at;
  bool completed = false;
  bool dispatcher_done = false;
  std::optional<end_reason> end;  // why run() returns

  // The first reason holds, but a failure replaces one that is not.
  void note_end(end_reason why) {
    if (!end || (is_failure(why) && !is_failure(*end))) end = why;
  }

  impl(asio::any_io_executor e, config::crawl_config c, line_writer w)
      : ex(e),
        cfg(std::move(c)),
        front(make_frontier(e, cfg, *this)),
        schedule(front->schedule()),
        politeness(cfg, schedule),
        robots(cfg, schedule, politeness),
        records(std::move(w), record::output_fields::from_names(cfg.output.fields), *front),
        visits(cfg, schedule),
        admit(cfg, *front, records.counters()),
        fetcher(e, fetch_settings_of(cfg)),
        pool(pool_threads()),
        wake_timer(e),
        lag_timer(e) {
    extract_opt.follow_nofollow = cfg.fetch.follow_nofollow;
    extract_opt.want_text = records.fields().text;
    extract_opt.want_requisites = cfg.fetch.requisites;
    records.on_untried(
        [this](const frontier::url_entry& e, record::fetch_record& r) { visits.untried(e, r); });
    if (visits.on() && front->keeps_visits()) visits.keep_in(front.get());
  }

  ~impl() { pool.join(); }

  // ---- what the frontier asks of the crawl ------------------------------------------------

  // Queues an entry already marked seen, or records why it is refused at once.
  void enqueue(frontier::url_entry e) override {
    if (auto why = robots.refusal_of(e)) {
      records.untried(e, why->kind, std::move(why->message));
      return;
    }
    schedule.push(std::move(e));
    wake();
  }

  // A fleet's revisit: through the robots gate when it starts, as every revisit.
  void revisit(frontier::url_entry e, std::string row) override {
    const auto due = visits.hold(e, std::move(row));
    schedule.push_revisit(std::move(e), due);
    wake();
  }
  void revisit_dropped(const std::string& url) override { visits.drop(url); }

  void wake() override {
    dirty = true;
    wake_timer.cancel();
  }

  bool busy() const override { return open_requests != 0 || parsing != 0; }
  bool stopping() const override { return stopping_; }
  bool paused() const override { return paused_; }
  void learn_robots(frontier::host_id h, const frontier::robots_verdict& v) override {
    robots.learn(h, v);
  }
  void learn_seed_host(const std::string& host) override {
    admit.scope_rules().add_seed_host(host);
  }
  bool flush_output() override { return output_flush(); }
  void fail(const std::string&) override {
    note_end(end_reason::redis_unreachable);
    stopping_ = true;
    fetcher.cancel_all();
    wake();
  }

  // ---- the dispatcher ----------------------------------------------------------------------

  bool has_capacity() const {
    // With recrawl the budget holds new URLs only (schedule.hold_new): revisits go on.
    return open_requests < static_cast<std::size_t>(cfg.limits.concurrency) &&
           parsing < max_parse_backlog && (visits.on() || front->page_budget_left());
  }

  asio::awaitable<void> run() {
    started = steady::now();
    clock.start(started);
    robots.start(started);
    for (;;) {
      dirty = false;
      auto now = steady::now();
      if (cfg.robots.obey && now >= robots.next_sweep()) robots.sweep(now);
      if (stopping_) {
        if (!busy() && front->quiet()) break;
        if (cancel_at && now >= *cancel_at) {
          cancel_at.reset();
          fetcher.cancel_all();
        }
      } else {
        if (!busy() && front->quiet()) {
          if (auto done = front->ended()) {
            completed = *done;
            // Not completed: the crawl-wide page budget is spent, or every host with URLs left
            // has spent its own (local_frontier::ended), or Redis is lost (fail() said so).
            note_end(completed                   ? end_reason::frontier_empty
                     : front->budget_spent()     ? end_reason::max_pages
                     : !front->failure().empty() ? end_reason::redis_unreachable
                                                 : end_reason::max_pages_per_host);
            break;
          }
        }
        // Fetched pages waiting for the parse pool are bounded too, so a fast network cannot
        // pile bodies up in memory ahead of the parsers.
        while (!paused_ && has_capacity()) {
          if (visits.on()) schedule.hold_new(!front->page_budget_left());
          auto l = schedule.next_ready(now);
          if (!l) break;
          // A revisit went into the schedule without the robots gate (its host's robots.txt may
          // have changed since): asked now, as it is about to start.
          if (l->kind == frontier::lease_kind::page && l->entry.revisit) {
            // Scheduled twice (a sitemap's lastmod brought it forward): visited already.
            if (visits.stale(l->entry)) {
              schedule.finish(l->host);
              continue;
            }
            if (auto why = robots.refusal_of(l->entry)) {
              schedule.finish(l->host);
              records.untried(l->entry, why->kind, std::move(why->message));
              continue;
            }
          }
          ++open_requests;
          if (l->kind == frontier::lease_kind::robots) {
            asio::co_spawn(ex, fetch_robots(l->host), detached_logged("robots fetch"));
          } else {
            if (l->due) visits.started_late(now - *l->due);
            // A revisit is no new page: neither scope.max_pages nor max_pages_per_host counts it.
            if (!l->entry.revisit) {
              front->page_started();
              politeness.page_started(l->host);
            }
            asio::co_spawn(ex, fetch_page(std::move(l->entry)), detached_logged("page fetch"));
          }
        }
      }
      if (dirty) continue;
      std::optional<steady::time_point> wake_at;
      // Without a free slot a due host cannot start anyway: the slot's release calls wake().
      // Waiting for the host's time instead would spin on a timer already due.
      if (!stopping_ && !paused_ && has_capacity()) {
        wake_at = schedule.next_wakeup();
        if (cfg.robots.obey && !schedule.idle() && (!wake_at || robots.next_sweep() < *wake_at)) {
          wake_at = robots.next_sweep();
        }
      }
      if (cancel_at && (!wake_at || *cancel_at < *wake_at)) wake_at = cancel_at;
      wake_timer.expires_at(wake_at ? *wake_at : steady::time_point::max());
      co_await wake_timer.async_wait(use_tuple);
    }
    clock.stop(steady::now());
    fetcher.close_idle();
    dispatcher_done = true;
    front->dispatcher_done();
  }

  // Samples the event-loop lag into the stats until cancelled at the crawl's end; slowly while
  // paused, so a service holding paused crawls does not wake 100 times a second for each.
  asio::awaitable<void> probe_lag() {
    auto next = [this](steady::time_point from) {
      return from + (paused_ ? milliseconds(250) : milliseconds(loop_lag::period));
    };
    auto at = next(steady::now());
    for (;;) {
      lag_timer.expires_at(at);
      auto [ec] = co_await lag_timer.async_wait(use_tuple);
      if (ec) co_return;
      const auto now = steady::now();
      records.counters().lag.observe(std::chrono::duration<double, std::milli>(now - at).count());
      at = next(now);
    }
  }

  // ---- the archive ---------------------------------------------------------------------------

  // A response worth archiving: output.warc is on and bytes came back; a redirect is no page to
  // replay (SPEC additions "WARC archive").
  bool archivable(const fetch::fetch_result& res) const {
    const bool redirect = res.status >= 300 && res.status <= 399 && res.header("location");
    return archive && res.has_response && !redirect && !res.wire_response.empty();
  }

  struct archived {
    std::optional<warc::location> at;  // the response record, written through
    warc::built built;
  };

  // Builds an exchange's records on the pool for the WARC file they go to (they name its
  // warcinfo record) and writes them through at once, so the archive's bytes reach the file
  // before a record pointing at them reaches the output. Another fetch's write may rotate the
  // file while they are built: they are built again for the next one, and after a few such
  // misses here, on the I/O thread, where nothing can come between building and writing.
  asio::awaitable<archived> archive_exchange(std::function<warc::exchange()> make) {
    archived out;
    for (int tries = 0; tries < 3; ++tries) {
      warc::exchange x = make();
      x.warcinfo_id = archive->warcinfo_id();
      ++parsing;
      out.built = co_await asio::co_spawn(
          pool, build_archive_records(std::move(x), cfg.limits.parse_priority),
          asio::use_awaitable);
      --parsing;
      if (!out.built.error.empty() || out.built.warcinfo_id == archive->warcinfo_id()) break;
    }
    if (out.built.error.empty() && out.built.warcinfo_id != archive->warcinfo_id()) {
      warc::exchange x = make();
      x.warcinfo_id = archive->warcinfo_id();
      out.built = warc::build_exchange(x);
    }
    if (auto at = archive->write(out.built); at && archive->flush()) out.at = std::move(at);
    co_return out;
  }

  // ---- robots.txt ----------------------------------------------------------------------------

  // Spacing counts from when a request goes out, not from its lease.
  std::function<void()> sent_now(frontier::host_id host) {
    return [this, host] { schedule.sent(host, steady::now()); };
  }

  asio::awaitable<void> fetch_robots(frontier::host_id host) {
    const std::string key = schedule.host_key(host);
    auto parts = url::split(key + "/robots.txt");
    std::string robots_url = url::normalize(key + "/robots.txt").value_or(key + "/robots.txt");
    fetch::fetch_result res;
    if (parts) {
      // RFC 9309 2.3.1.2: follow at least five redirects.
      for (int hop = 0; hop <= 5; ++hop) {
        ++records.counters().robots_fetches;
        res = co_await fetcher.async_fetch(*parts, {}, sent_now(host));
        if (res.error || !res.has_response || res.status < 300 || res.status > 399) break;
        auto location = res.header("location");
        if (!location) break;
        auto next = url::resolve(url::host_key(*parts) + parts->target, *location);
        if (!next) break;
        auto next_parts = url::split(*next);
        if (!next_parts) break;
        parts = std::move(next_parts);
        robots_url = std::move(*next);
      }
    } else {
      res.error = error_kind::other;
      res.message = "cannot build the robots.txt URL";
    }
    --open_requests;
    schedule.finish(host);
    auto settled = robots.fetched(host, res);
    wake();
    // Archived like a page (SPEC additions "WARC archive"), after its verdict: the host's pages
    // need not wait for the compression.
    if (archivable(res)) {
      auto done = co_await archive_exchange([&] {
        warc::exchange x;
        x.target_uri = robots_url;
        x.ip = res.peer;
        x.date = std::chrono::system_clock::now();
        x.request = res.wire_request;
        x.response = res.wire_response;
        x.truncated = res.truncated;
        return x;
      });
      if (!done.at && !done.built.error.empty())
        log::warn("not archived: " + robots_url + ": " + done.built.error);
    }
    if (!settled) co_return;
    if (settled->verdict.outcome != "failure") admit.host_sitemaps(key, settled->sitemaps);
    for (auto& [e, why] : settled->refused) records.untried(e, why.kind, std::move(why.message));
    co_await front->settle();
    co_await front->share_robots(host, std::move(settled->verdict));
  }

  // ---- pages ---------------------------------------------------------------------------------

  // A page's way ends without a record to write (a retry comes, a refused address): its page is
  // not spent. Revisits never counted.
  void page_unspent(const frontier::url_entry& e) {
    if (e.revisit) return;
    politeness.page_unstarted(e.host);
    front->page_ended(false);
  }

  asio::awaitable<void> fetch_page(frontier::url_entry e) {
    auto parts = url::split(e.url);
    fetch::fetch_result res;
    // Recrawl: a revisit asks conditionally (RFC 9110 13.1).
    auto validators = visits.validators_for(e);
    const bool validators_sent = !validators.empty();
    if (parts) {
      std::optional<std::size_t> cap;
      if (e.sitemap) cap = static_cast<std::size_t>(cfg.sitemaps.max_bytes);
      res = co_await fetcher.async_fetch(*parts, cap, sent_now(e.host), std::move(validators));
    } else {
      res.error = error_kind::other;
      res.message = "not a fetchable URL";
    }
    ++e.attempts;
    --open_requests;
    schedule.finish(e.host);
    // The request slot is free now: let the dispatcher start the next fetch while this page
    // is parsed, so latency-bound crawls keep every slot busy.
    wake();
    // The address policy refused every address of the host: no request left the machine, so
    // the URL was never tried (SPEC "Precise rules": attempts 0, elapsed_ms 0), with robots
    // on or off.
    if (res.error == error_kind::blocked_address) {
      page_unspent(e);
      records.untried(e, *res.error, res.message);
      co_return;
    }
    politeness.note_outcome(e.host, res);
    if (parts) {
      records.counters().fetch_duration.observe(std::chrono::duration<double>(res.elapsed).count());
    }
    if (res.error != error_kind::cancelled) {
      if (auto delay = politeness.retry_delay(res, e.attempts, e.host)) {
        page_unspent(e);
        schedule.retry(std::move(e), steady::now() + *delay);
        wake();
        co_return;
      }
    }
    if (!e.revisit) {
      if (!res.has_response) politeness.page_unstarted(e.host);
      front->page_ended(res.has_response);
    }
    // Cancelled by a stop: kept to be crawled later.
    if (res.error == error_kind::cancelled) front->cancelled(e);

    record::fetch_record r = facts_of(e, res);
    robots::directives directives;
    for (const auto& [name, value] : res.headers) {
      if (name == "x-robots-tag") {
        robots::apply_x_robots_tag(value, robots.product_token(), directives);
      }
    }
    std::optional<std::string> ct_header = res.header("content-type");
    const bool answered = res.has_response && res.status >= 200 && res.status <= 299;
    // RFC 9110 15.4.5: a 304 answers a conditional request; to one without validators it is a
    // broken server, not a page.
    const bool not_modified = res.has_response && res.status == 304 && !res.error;
    if (not_modified && !validators_sent) {
      r.error = error_kind::protocol;
      r.error_message = "304 Not Modified to a request without validators";
    }
    const bool readable = answered && !res.body.empty() && (!res.error || res.truncated);
    // A requisite is never parsed for links (SPEC additions "Page requisites"), an HTML one
    // (a frame, an error page for an image) included; any style sheet is read for its
    // requisites.
    const bool html = is_html(r.content_type) && readable && !e.requisite;
    const bool stylesheet = cfg.fetch.requisites && r.content_type == "text/css" && readable;
    std::optional<std::string> header_charset;
    if (ct_header) header_charset = record::charset_param(*ct_header);
    if (!html && header_charset) {
      if (auto canonical = extract::canonical_charset(*header_charset)) r.charset = *canonical;
    }

    // Parsing: every admission after it happens in one synchronous stretch with settle(),
    // so the frontier counts this page's new links and no other's.
    std::optional<parsed_page> parsed;
    const bool sitemap = e.sitemap && answered && !res.body.empty();
    // Recrawl: a 2xx body with the last one's digest is unchanged: hashed, never parsed.
    std::optional<std::string> known_body;
    if (answered) known_body = visits.known_body(e);
    if (sitemap || (res.has_response && !res.body.empty())) {
      ++parsing;
      if (sitemap && !known_body) {
        parsed =
            co_await asio::co_spawn(pool,
                                    parse_sitemap(std::move(res.body), e.url,
                                                  static_cast<std::size_t>(cfg.sitemaps.max_bytes),
                                                  cfg.limits.parse_priority),
                                    asio::use_awaitable);
      } else {
        // A sitemap that may be unchanged is hashed first; a changed one is parsed after.
        std::string body = sitemap ? res.body : std::move(res.body);
        parsed = co_await asio::co_spawn(pool,
                                         parse_page(std::move(body), e.url, header_charset,
                                                    sitemap      ? body_kind::opaque
                                                    : html       ? body_kind::html
                                                    : stylesheet ? body_kind::stylesheet
                                                                 : body_kind::opaque,
                                                    extract_opt, cfg.limits.parse_priority,
                                                    known_body, visits.on() && html && !sitemap),
                                         asio::use_awaitable);
        if (sitemap && !parsed->unchanged_body) {
          parsed = co_await asio::co_spawn(
              pool,
              parse_sitemap(std::move(res.body), e.url,
                            static_cast<std::size_t>(cfg.sitemaps.max_bytes),
                            cfg.limits.parse_priority),
              asio::use_awaitable);
        }
      }
      --parsing;
      r.sha256 = std::move(parsed->sha256);
      if (parsed->unchanged_body) visits.note_parse_skipped();
    } else if (not_modified) {
      // Nothing was sent: the body is the stored one, not an empty one.
      if (validators_sent) visits.note_parse_skipped();
    } else if (res.has_response && !res.error) {
      r.sha256 = record::sha256_hex("");
    }
    const bool unchanged_body = parsed && parsed->unchanged_body;
    std::optional<recrawl::capture> captured;  // a full response record archived now
    if (archivable(res)) {
      const auto date = std::chrono::system_clock::now();
      const auto earlier = visits.archived_capture(e);
      auto done = co_await archive_exchange([&] {
        warc::exchange x;
        x.target_uri = e.url;
        x.ip = res.peer;
        x.date = date;
        x.request = res.wire_request;
        x.response = res.wire_response;
        x.truncated = res.truncated;
        // Recrawl: a 304 or an identical payload is archived as a revisit of the last capture.
        if (earlier) {
          x.earlier = warc::earlier_capture{
              earlier->record_id,
              std::chrono::system_clock::time_point(std::chrono::microseconds(earlier->date_us)),
              earlier->payload_digest};
          x.not_modified = not_modified && validators_sent;
        }
        if (parsed) {
          x.outlinks.reserve(parsed->facts.links.size());
          for (const auto& l : parsed->facts.links) x.outlinks.push_back(l.url);
        }
        return x;
      });
      if (done.at) {
        r.warc = record::warc_pointer{done.at->file, done.at->offset, done.at->length};
        if (answered && done.built.revisit == warc::revisit_profile::none) {
          captured = recrawl::capture{
              done.built.response_id,
              std::chrono::duration_cast<std::chrono::microseconds>(date.time_since_epoch())
                  .count(),
              done.built.payload_digest};
        }
      } else if (!done.built.error.empty()) {
        log::warn("not archived: " + e.url + ": " + done.built.error);
      }
    }

    if (res.has_response && !res.error && res.status >= 300 && res.status <= 399) {
      follow_redirect(e, res, r);
    }
    if (unchanged_body) {
      // Its links were admitted when it was first seen.
    } else if (parsed && sitemap) {
      admit_sitemap_links(e, parsed->facts, r, parsed->lastmods);
    } else if (parsed) {
      // Requisites first: a style sheet the page also links (<link rel=stylesheet>) is fetched
      // as its requisite, and scanned for its own.
      admit_requisites(e, parsed->facts.requisites, r);
      if (html) {
        // A header nofollow covers every link; meta and rel=nofollow are applied by the
        // extractor.
        const bool header_nofollow = directives.nofollow && !cfg.fetch.follow_nofollow;
        admit_page_links(e, parsed->facts, header_nofollow, r, directives);
      }
    }
    if (auto fresh = co_await front->settle()) r.new_links = *fresh;
    r.noindex = directives.noindex;
    r.nofollow = directives.nofollow;
    r.fetched_at = std::chrono::system_clock::now();
    if (visits.on()) {
      if (res.error == error_kind::cancelled) {
        visits.cancelled(e, r);
      } else {
        auto o = outcome_of(res, r, parsed, validators_sent);
        o.archived = std::move(captured);
        visits.visited(e, r, std::move(o));
      }
    }
    records.emit(r);
    wake();
  }

  // What a visit found, for recrawl::decide.
  static recrawl::outcome outcome_of(const fetch::fetch_result& res, const record::fetch_record& r,
                                     const std::optional<parsed_page>& parsed,
                                     bool validators_sent) {
    using kind = recrawl::outcome::kind;
    recrawl::outcome o;
    o.validators_sent = validators_sent;
    if (!res.has_response) return o;  // failed
    if (r.error && !r.truncated) {
      // A redirect past the limit is still a redirect; anything else (a broken body, a 304
      // nobody asked for) failed.
      if (r.error == error_kind::redirect_limit) o.what = kind::redirect;
      return o;
    }
    const int st = res.status;
    if (st >= 200 && st <= 299) {
      o.what = kind::ok;
      o.noindex = r.noindex;
      o.truncated = r.truncated;
      o.size = r.size;
      if (r.sha256) o.body = recrawl::digest_of_hex(*r.sha256);
      if (parsed && !parsed->text_signature.empty())
        o.text = recrawl::digest_of_hex(parsed->text_signature);
      // Unchanged and not parsed: no new text signature; the body digest decides.
      if (auto etag = res.header("etag")) o.etag = *etag;
      if (auto lm = res.header("last-modified")) o.last_modified = *lm;
    } else if (st == 304) {
      o.what = validators_sent ? kind::not_modified : kind::failed;
    } else if (st == 404) {
      o.what = kind::not_found;
    } else if (st == 410) {
      o.what = kind::removed;
    } else if (st >= 300 && st <= 399 && r.redirect) {
      o.what = kind::redirect;
    } else {
      o.what = kind::failed;
    }
    return o;
  }

  // The record's facts from the response alone.
  record::fetch_record facts_of(const frontier::url_entry& e, const fetch::fetch_result& res) {
    record::fetch_record r;
    r.url = e.url;
    r.depth = e.depth;
    r.requisite = e.requisite;
    if (e.referrer) r.referrer = *e.referrer;
    r.attempts = e.attempts;
    r.elapsed_ms = std::chrono::duration<double, std::milli>(res.elapsed).count();
    if (res.has_response) r.status = res.status;
    if (res.error) {
      r.error = res.error;
      r.error_message = res.message;
    }
    r.truncated = res.truncated;
    r.size = res.body.size();
    if (auto ct = res.header("content-type")) r.content_type = record::media_type(*ct);
    if (records.fields().headers) r.headers = res.headers;
    return r;
  }

  void follow_redirect(const frontier::url_entry& e, const fetch::fetch_result& res,
                       record::fetch_record& r) {
    auto location = res.header("location");
    if (!location) return;
    auto target = url::resolve(e.url, *location);
    if (!target) return;
    r.redirect = *target;
    if (e.redirects_left <= 0) {
      r.error = error_kind::redirect_limit;
      r.error_message = "more than " + std::to_string(cfg.limits.max_redirects) + " redirects";
      return;
    }
    // A redirect target keeps its source's depth (SPEC "Redirects").
    auto from = std::make_shared<const std::string>(e.url);
    if (e.sitemap) {
      admit.sitemap(*target, e.depth, from);
    } else if (e.requisite) {
      admit.requisite(*target, e.depth, e.redirects_left - 1, from);
    } else {
      admit.link(*target, e.depth, e.redirects_left - 1, from);
    }
  }

  void admit_sitemap_links(const frontier::url_entry& e, extract::page_facts& facts,
                           record::fetch_record& r, const std::vector<std::int64_t>& lastmods) {
    // The sitemap's links share one copy of its URL as their referrer.
    const auto self = std::make_shared<const std::string>(e.url);
    const bool index = facts.page_nofollow;
    r.links.reserve(facts.links.size());
    for (std::size_t i = 0; i < facts.links.size(); ++i) {
      auto& l = facts.links[i];
      auto outcome = index ? admit.sitemap(l.url, e.depth, self)
                           : admit.sitemap_location(l.url, e.depth + 1, self);
      if (outcome == admission::outcome::added) ++r.new_links;
      // Recrawl: a known page the sitemap says changed since its last visit comes due.
      if (!index && outcome == admission::outcome::refused && i < lastmods.size() &&
          lastmods[i] > 0) {
        visits.lastmod_hint(l.url, lastmods[i]);
      }
      r.links.push_back(std::move(l.url));
    }
  }

  // A page's or style sheet's requisites, one level deeper (SPEC additions "Page requisites").
  // nofollow does not apply: a browser loads a page's images whatever its links say.
  void admit_requisites(const frontier::url_entry& e, const std::vector<std::string>& found,
                        record::fetch_record& r) {
    if (found.empty()) return;
    const auto self = std::make_shared<const std::string>(e.url);
    for (const auto& u : found) {
      if (admit.requisite(u, e.depth + 1, cfg.limits.max_redirects, self) ==
          admission::outcome::added)
        ++r.new_links;
    }
  }

  void admit_page_links(const frontier::url_entry& e, extract::page_facts& f, bool header_nofollow,
                        record::fetch_record& r, robots::directives& directives) {
    r.charset = f.charset;
    r.title = std::move(f.title);
    const auto& fields = records.fields();
    if (fields.canonical) r.canonical = std::move(f.canonical);
    if (fields.meta_robots) r.meta_robots = std::move(f.meta_robots);
    if (fields.text) r.text = std::move(f.text);
    for (const auto& token : f.meta_robots) robots::apply_meta_token(token, directives);
    frontier::shared_text self;
    r.links.reserve(f.links.size());
    for (auto& l : f.links) {
      // Links are admitted even while stopping: they are saved for a resume, not fetched.
      if (l.follow && !header_nofollow) {
        if (!self) self = std::make_shared<const std::string>(e.url);
        if (admit.link(l.url, e.depth + 1, cfg.limits.max_redirects, self) ==
            admission::outcome::added) {
          ++r.new_links;
        }
      } else if (admit.keeps_drops()) {
        if (!self) self = std::make_shared<const std::string>(e.url);
        admit.not_followed(l.url, e.depth + 1, self);
      }
      r.links.push_back(std::move(l.url));
    }
  }
};

crawler::crawler(asio::any_io_executor ex, config::crawl_config cfg, line_writer write)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(cfg), std::move(write))) {}

crawler::~crawler() = default;

std::vector<std::string> crawler::admit_seeds(const std::vector<std::string>& seeds) {
  std::vector<std::string> problems;
  for (const auto& s : seeds) {
    if (auto problem = impl_->admit.seed(s)) problems.push_back(std::move(*problem));
  }
  return problems;
}

void crawler::attach_state(state::crawl_state& st, const crawl_stats& carried) {
  impl& m = *impl_;
  m.records.attach(&st);
  m.admit.attach(&st);
  m.visits.attach(&st);
  m.carried = carried;
  m.front->carry_pages(carried.pages);
  st.for_each_url([&](std::string_view url, bool) { m.schedule.mark_seen(url); });
  frontier::shared_text last_referrer;
  for (auto& p : st.pending()) {
    auto parts = url::split(p.url);
    if (!parts) continue;
    frontier::url_entry e;
    e.url = std::move(p.url);
    e.host = m.schedule.host_for(url::host_key(*parts));
    e.depth = p.depth;
    e.redirects_left = p.redirects_left;
    e.sitemap = p.sitemap;
    e.requisite = p.requisite;
    // Recrawl: a revisit cancelled by the last stop is pending again, and still a revisit.
    e.revisit = m.visits.on() && st.visit(e.url).has_value();
    // Pending entries come grouped by referrer: consecutive ones share its string.
    if (!p.referrer.empty()) {
      if (!last_referrer || *last_referrer != p.referrer)
        last_referrer = std::make_shared<const std::string>(std::move(p.referrer));
      e.referrer = last_referrer;
    }
    m.enqueue(std::move(e));
  }
  m.visits.resume();
}

asio::any_io_executor crawler::get_executor() const {
  return impl_->ex;
}

void crawler::set_archive(warc::warc_writer& archive) {
  impl_->archive = &archive;
}

void crawler::set_output_flush(std::function<bool()> flush_output) {
  impl_->output_flush = std::move(flush_output);
}

bool crawler::completed() const {
  return impl_->completed;
}

std::optional<end_reason> crawler::ended_because() const {
  return impl_->end;
}

std::size_t crawler::admitted_seeds() const {
  return impl_->admit.seeds();
}

asio::awaitable<void> crawler::run() {
  using namespace asio::experimental::awaitable_operators;
  // On the thread that runs the I/O (the pool's threads exist already and keep their slice).
  request_scheduler_slice(io_thread_slice);
  // The probe ends when the dispatcher does: || cancels it and waits for it. The frontier's
  // own work ends after the dispatcher, having handed back what this process holds.
  co_await ((impl_->run() && impl_->front->run()) || impl_->probe_lag());
}

std::string crawler::sharing() const {
  return impl_->front->sharing();
}

const std::string& crawler::fleet_failure() const {
  return impl_->front->failure();
}

void crawler::stop(std::chrono::milliseconds grace, end_reason why) {
  impl& m = *impl_;
  if (!m.dispatcher_done) m.note_end(why);  // once ended, it ended for its own reason
  if (m.stopping_) return;
  m.stopping_ = true;
  m.cancel_at = steady::now() + grace;
  m.wake();
}

void crawler::stop_now(end_reason why) {
  impl& m = *impl_;
  if (!m.dispatcher_done) m.note_end(why);
  m.stopping_ = true;
  m.cancel_at.reset();
  m.fetcher.cancel_all();
  m.wake();
}

bool crawler::stopping() const {
  return impl_->stopping_;
}

void crawler::pause() {
  impl_->paused_ = true;
  impl_->clock.pause(steady::now());
}

void crawler::resume() {
  impl_->paused_ = false;
  impl_->clock.resume(steady::now());
  impl_->wake();
}

bool crawler::paused() const {
  return impl_->paused_;
}

namespace {

nlohmann::json host_json(const frontier::frontier::host_view& h,
                         const host_politeness::host_record& rec) {
  return {{"host", h.key},
          {"queued", h.queued},
          {"open", h.open},
          {"wait_ms", std::chrono::duration_cast<milliseconds>(h.wait).count()},
          {"parked", h.parked},
          {"robots_known", h.robots_known},
          {"revisits", h.revisits},
          {"responses", rec.responses},
          {"failures", rec.failures},
          {"consecutive_failures", rec.consecutive_failures},
          {"response_ms",
           rec.response_ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(rec.response_ms)}};
}

}  // namespace

nlohmann::json crawler::busiest_hosts(std::size_t limit) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : impl_->schedule.busiest_hosts(limit, steady::now())) {
    out.push_back(host_json(h, impl_->politeness.record_of(h.id)));
  }
  return out;
}

nlohmann::json crawler::hosts_at_end(std::size_t limit) const {
  const impl& m = *impl_;
  const auto now = steady::now();
  struct row {
    frontier::frontier::host_view view;
    std::uint64_t work;
    std::uint64_t responses;
  };
  std::vector<row> rows;
  rows.reserve(m.schedule.hosts());
  for (frontier::host_id id = 0; id < m.schedule.hosts(); ++id) {
    auto view = m.schedule.view_of(id, now);
    const auto work = view.queued + static_cast<std::uint64_t>(view.open) + view.revisits;
    rows.push_back({std::move(view), work, m.politeness.record_of(id).responses});
  }
  const auto before = [](const row& a, const row& b) {
    if (a.work != b.work) return a.work > b.work;
    if (a.responses != b.responses) return a.responses > b.responses;
    return a.view.key < b.view.key;
  };
  const auto n = std::min(limit, rows.size());
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                    before);
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(host_json(rows[i].view, m.politeness.record_of(rows[i].view.id)));
  return out;
}

nlohmann::json crawler::live_view(const std::string& url) const {
  const impl& m = *impl_;
  nlohmann::json out = {{"seen", m.schedule.was_seen(url)},
                        {"queued", nullptr},
                        {"host", nullptr},
                        {"paused", m.paused_},
                        {"stopping", m.stopping_},
                        {"per_host", m.cfg.limits.per_host},
                        {"open_requests", m.open_requests},
                        {"concurrency", m.cfg.limits.concurrency}};
  auto parts = url::split(url);
  if (!parts) return out;
  const auto h = m.schedule.find_host(url::host_key(*parts));
  if (!h) return out;
  const auto now = steady::now();
  const auto view = m.schedule.view_of(*h, now);
  auto host = host_json(view, m.politeness.record_of(*h));
  host["delay_ms"] = std::chrono::duration_cast<milliseconds>(m.schedule.host_delay(*h)).count();
  out["host"] = std::move(host);
  if (auto place = m.schedule.find_queued(*h, url)) {
    out["queued"] = {
        {"position", place->ahead},
        {"of", m.schedule.queued_on(*h)},
        {"retry", place->retry},
        {"retry_in_ms",
         place->retry
             ? std::max<std::int64_t>(
                   0, std::chrono::duration_cast<milliseconds>(place->retry_at - now).count())
             : 0}};
  }
  return out;
}

crawl_stats crawler::stats() const {
  const impl& m = *impl_;
  crawl_stats s = m.records.counters();
  s.seen = m.schedule.seen();
  s.queued = m.schedule.queued();
  s.in_flight = m.open_requests;
  s.elapsed_s = std::chrono::duration<double>(m.clock.elapsed(steady::now())).count();
  s.carry_from(m.carried);
  s.cluster = m.front->counts();
  if (m.visits.on()) {
    // Carried counts come first (carry_from above); this run's are added to them.
    auto mine = m.visits.counts();
    // A fleet's revisits wait in Redis: those of the live workers' buckets, as last reported.
    if (s.cluster && m.front->keeps_visits())
      mine.waiting += static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.cluster->revisits));
    if (s.recrawl) mine.add_carried(*s.recrawl);
    s.recrawl = mine;
  }
  return s;
}

}  // namespace trawler::crawl
