#include "crawl/crawler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <ctime>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cluster/shared_frontier.hpp"
#include "common/log.hpp"
#include "common/stable_table.hpp"
#include "extract/charset.hpp"
#include "extract/extract.hpp"
#include "fetch/decoder.hpp"
#include "fetch/fetcher.hpp"
#include "frontier/frontier.hpp"
#include "record/record.hpp"
#include "robots/robots_directives.hpp"
#include "robots/robots_rules.hpp"
#include "robots/sitemap.hpp"
#include "scope/scope.hpp"
#include "state/crawl_state.hpp"
#include "url/url.hpp"

namespace trawler::crawl {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string text_of(const frontier::shared_text& t) {
  return t ? *t : std::string();
}

struct parsed_page {
  extract::page_facts facts;
  std::string sha256;
};

// Parse threads yield to the I/O thread: when every core parses, a response that arrives
// otherwise waits up to a scheduler slice for the I/O thread (trawler bench on 2 cores: p99
// event-loop lag 3.9 ms at equal priority, 3.5 ms at nice +5, 0.3-0.7 ms with SCHED_IDLE,
// which the scheduler preempts at once). SCHED_IDLE only yields within the same cgroup, so in a
// container the parse threads still get the container's whole share. Set once per pool thread.
void set_parse_thread_priority(const std::string& mode) {
  static thread_local const bool done = [&mode] {
    if (mode == "idle") {
      sched_param sp{};
      pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    } else if (mode == "low") {
      // The nice value is per thread on Linux.
      errno = 0;
      const int now = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
      if (errno == 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), std::min(19, now + 5));
    }
    return true;
  }();
  (void)done;
}

// Runs on the parse pool: the whole CPU cost of a page (charset decoding, Gumbo, hashing).
asio::awaitable<parsed_page> parse_on_pool(std::string body, std::string url,
                                           std::optional<std::string> header_charset, bool html,
                                           extract::options opt, std::string priority) {
  set_parse_thread_priority(priority);
  parsed_page out;
  out.sha256 = record::sha256_hex(body);
  if (html) {
    std::optional<std::string_view> cs;
    if (header_charset) cs = *header_charset;
    out.facts = extract::extract_html(body, url, cs, opt);
  }
  co_return out;
}

// Runs on the parse pool: a sitemap body (gzipped or not) to its locations.
asio::awaitable<parsed_page> parse_sitemap_on_pool(std::string body, std::string url,
                                                   std::size_t max_bytes, std::string priority) {
  set_parse_thread_priority(priority);
  parsed_page out;
  out.sha256 = record::sha256_hex(body);
  std::string xml;
  if (robots::looks_gzipped(body)) {
    // Served as a .gz file without Content-Encoding: undo it here, with the same cap.
    fetch::body_decoder gunzip({fetch::content_coding::gzip}, max_bytes);
    gunzip.feed(body, xml);
    gunzip.finish(xml);
  } else {
    xml = std::move(body);
  }
  auto map = robots::parse_sitemap(xml);
  url::resolver base(url);
  for (auto& loc : map.locations) {
    if (auto abs = base.resolve(loc)) out.facts.links.push_back({std::move(*abs), true});
  }
  out.facts.page_nofollow = map.is_index;  // reused as "these links are sitemaps"
  co_return out;
}

bool is_html(const std::optional<std::string>& media) {
  return media && (*media == "text/html" || *media == "application/xhtml+xml");
}

bool is_retryable(error_kind k) {
  return k == error_kind::dns || k == error_kind::connect || k == error_kind::timeout ||
         k == error_kind::protocol;
}

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date.
std::optional<milliseconds> parse_retry_after(const std::string& v,
                                              std::chrono::system_clock::time_point now) {
  std::string s = v;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  s = s.substr(i);
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    long long secs = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (ec != std::errc()) return milliseconds(std::numeric_limits<int>::max());
    return milliseconds(secs * 1000);
  }
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(when - now);
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

}  // namespace

struct crawler::impl {
  // What is known of one host's robots.txt.
  struct host_robots {
    bool known = false;
    robots::rules rules = robots::rules::allow_all();
    std::optional<error_kind> failure;  // a network failure: every page gets this kind
    std::string failure_message;
    int attempts = 0;
    steady::time_point fetched_at{};
  };

  // How one host has been answering: drives error backoff, adaptive spacing and the budget.
  struct host_health {
    int consecutive_failures = 0;
    double latency_ms = -1;          // smoothed response time; < 0 until the first response
    std::int64_t started_pages = 0;  // page requests that got or may get a response
    milliseconds floor{0};           // delay_ms or Crawl-delay, whichever is larger
  };

  // Cluster mode (cfg.cluster.redis): the crawl-wide frontier is in Redis, and this worker
  // fetches only the hosts it holds a lease on. The local frontier holds the claimed entries of
  // those hosts; links go to Redis, and come back through a claim or a refill of their host.
  struct fleet_state {
    explicit fleet_state(const asio::any_io_executor& e) : timer(e) {}
    cluster::shared_frontier* shared = nullptr;
    redis::client* redis = nullptr;
    std::function<bool()> flush_output;  // writes the records so far (before their done marks)
    std::unordered_map<frontier::host_id, std::string> owned;  // leased hosts
    std::vector<cluster::shared_entry> outbox;     // links admitted by the page being handled
    std::vector<std::string> done;                 // fingerprints of records handed to the writer
    std::vector<cluster::shared_entry> give_back;  // cancelled at a stop: queued again
    std::vector<cluster::shared_entry> seeds;
    std::int64_t page_tokens = 0;  // scope.max_pages reserved crawl-wide, not yet used
    bool budget_exhausted = false;
    bool finished = false;  // the fleet's crawl is over
    bool handed_back = false;
    std::string failure;  // Redis could not be reached for long enough: the crawl fails
    int busy = 0;         // fleet calls of pages in progress
    std::optional<cluster::crawl_status> status;
    steady::time_point next_flush{}, next_renew{}, next_reap{}, next_seeds{}, next_status{};
    asio::steady_timer timer;
  };

  asio::any_io_executor ex;
  config::crawl_config cfg;
  line_writer write;
  record::output_fields fields;
  scope::scope scope_rules;
  frontier::frontier front;
  fetch::fetcher fetcher;
  asio::thread_pool pool;
  asio::steady_timer wake_timer;
  asio::steady_timer lag_timer;
  std::string product_token;
  extract::options extract_opt;
  // Stable tables: coroutines keep references into them across suspensions, during which
  // other hosts are registered (see common/stable_table.hpp).
  stable_table<host_robots> robots_by_host;
  stable_table<host_health> health_by_host;
  std::int64_t sitemap_files = 0;
  std::int64_t sitemap_urls = 0;
  std::unordered_set<frontier::host_id> sitemap_hosts;
  frontier::hash_set filtered_urls;
  std::mt19937_64 rng{std::random_device{}()};

  crawl_stats counters;  // this run's
  crawl_stats carried;   // the runs before a resume (SPEC: stats are cumulative)
  steady::time_point started = steady::now();
  std::optional<steady::time_point> finished_at;
  std::size_t open_requests = 0;
  std::size_t open_pages = 0;
  // Fetches whose record will carry a response (set before parsing, which runs on the pool,
  // so max_pages holds while records are still being made).
  std::uint64_t responses = 0;
  std::size_t parsing = 0;
  std::size_t max_parse_backlog = std::max<std::size_t>(
      4 * pool_threads() + 4, static_cast<std::size_t>(cfg.limits.concurrency));
  std::size_t seeds = 0;
  bool dirty = false;
  bool stopping = false;
  bool paused = false;
  bool hard_stop = false;
  std::optional<steady::time_point> cancel_at;
  state::crawl_state* store = nullptr;
  std::unique_ptr<fleet_state> fleet;
  bool completed = false;
  bool dispatcher_done = false;
  steady::time_point next_robots_sweep{};

  static scope::rules scope_rules_of(const config::crawl_config& c) {
    scope::rules r;
    r.scope_mode = c.scope.mode == "domain" ? scope::mode::domain
                   : c.scope.mode == "any"  ? scope::mode::any
                                            : scope::mode::host;
    r.include = c.scope.include;
    r.exclude = c.scope.exclude;
    r.max_depth = c.scope.max_depth;
    r.max_url_length = static_cast<std::size_t>(c.scope.max_url_length);
    return r;
  }

  static fetch::fetch_settings fetch_settings_of(const config::crawl_config& c) {
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
    return s;
  }

  // One parse thread more than cores: with one per core, 2 cores were only 1.88 busy in a
  // CPU-bound crawl with pages waiting to be parsed; one more thread brought it to 1.94
  // (+3% pages/s). At parse_priority idle it does not delay the I/O thread.
  static unsigned pool_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return (n == 0 ? 1 : n) + 1;
  }

  impl(asio::any_io_executor e, config::crawl_config c, line_writer w)
      : ex(e),
        cfg(std::move(c)),
        write(std::move(w)),
        fields(record::output_fields::from_names(cfg.output.fields)),
        scope_rules(scope_rules_of(cfg)),
        front(frontier::options{cfg.limits.per_host, milliseconds(cfg.limits.delay_ms),
                                cfg.robots.obey}),
        fetcher(e, fetch_settings_of(cfg)),
        pool(pool_threads()),
        wake_timer(e),
        lag_timer(e),
        product_token(robots::product_token(cfg.robots.user_agent)),
        health_by_host(host_health{0, -1, 0, milliseconds(cfg.limits.delay_ms)}) {
    extract_opt.follow_nofollow = cfg.fetch.follow_nofollow;
    extract_opt.want_text = fields.text;
  }

  ~impl() { pool.join(); }

  bool has_capacity() const {
    return open_requests < static_cast<std::size_t>(cfg.limits.concurrency) &&
           parsing < max_parse_backlog && page_budget_left();
  }

  void wake() {
    dirty = true;
    wake_timer.cancel();
  }

  host_health& health_of(frontier::host_id h) { return health_by_host[h]; }

  // ---- per-host politeness -------------------------------------------------------------------

  // A page request is about to start on the host: keeps scope.max_pages_per_host.
  void count_page_start(frontier::host_id h) {
    if (cfg.scope.max_pages_per_host <= 0) return;
    auto& hh = health_of(h);
    if (++hh.started_pages >= cfg.scope.max_pages_per_host) front.park_host(h);
  }

  // A page request ended without a response (or will be tried again): its budget slot is free.
  void uncount_page_start(frontier::host_id h) {
    if (cfg.scope.max_pages_per_host <= 0) return;
    auto& hh = health_of(h);
    if (hh.started_pages > 0) --hh.started_pages;
    if (hh.started_pages < cfg.scope.max_pages_per_host && front.parked(h)) front.unpark_host(h);
  }

  // Errors that say the host is struggling (not that one page is broken) back the whole host
  // off exponentially; a good answer clears it. With limits.adaptive the start spacing follows
  // the host's response time (AutoThrottle: latency / per_host, smoothed).
  void note_host_outcome(frontier::host_id h, const fetch::fetch_result& res) {
    auto& hh = health_of(h);
    bool struggling = false;
    if (res.error) {
      struggling = *res.error == error_kind::dns || *res.error == error_kind::connect ||
                   *res.error == error_kind::timeout;
    } else if (res.has_response) {
      struggling = res.status == 429 || (res.status >= 500 && res.status <= 599);
    }
    if (struggling) {
      ++hh.consecutive_failures;
      double penalty = 250.0 * std::pow(2.0, std::min(hh.consecutive_failures - 1, 10));
      penalty = std::min(penalty, 8000.0);
      front.block_host_until(h, steady::now() + milliseconds(static_cast<long long>(penalty)));
    } else if (res.has_response) {
      hh.consecutive_failures = 0;
    }
    if (cfg.limits.adaptive && res.has_response) {
      double latency = std::chrono::duration<double, std::milli>(res.elapsed).count();
      hh.latency_ms = hh.latency_ms < 0 ? latency : (hh.latency_ms + latency) / 2;
      double target = hh.latency_ms / std::max(1, cfg.limits.per_host);
      // Errors never shorten the spacing.
      if (struggling) target = std::max(target, static_cast<double>(hh.floor.count()) * 2);
      double upper = static_cast<double>(cfg.limits.adaptive_max_delay_ms);
      double delay = std::clamp(target, static_cast<double>(hh.floor.count()),
                                std::max(upper, static_cast<double>(hh.floor.count())));
      front.set_host_delay(h, milliseconds(static_cast<long long>(delay)));
    }
  }

  host_robots& robots_of(frontier::host_id h) { return robots_by_host[h]; }

  // ---- records -------------------------------------------------------------------------

  void emit(record::fetch_record& r) {
    if (r.status) {
      ++counters.pages;
      int cls = *r.status / 100;
      if (cls >= 2 && cls <= 5) {
        ++counters.status_classes[cls - 2];
      } else {
        ++counters.other_status;
      }
    }
    if (r.error) ++counters.errors[static_cast<std::size_t>(*r.error)];
    counters.bytes += r.size;
    ++counters.records;
    // A cancelled URL is fetched again on resume (SPEC "More edges").
    if (store && r.error != error_kind::cancelled) store->recorded(r.url);
    write(record::to_json_line(r, fields));
    // Marked done in Redis once its line is written (flush_output), so a kill in between
    // fetches it again rather than losing it.
    if (fleet && r.error != error_kind::cancelled)
      fleet->done.push_back(cluster::fingerprint(r.url));
  }

  record::fetch_record untried_record(const frontier::url_entry& e, error_kind kind,
                                      std::string message) {
    record::fetch_record r;
    r.url = e.url;
    r.error = kind;
    r.error_message = std::move(message);
    r.depth = e.depth;
    if (e.referrer) r.referrer = *e.referrer;
    r.fetched_at = std::chrono::system_clock::now();
    return r;
  }

  // ---- sitemaps ----------------------------------------------------------------------------

  // A sitemap file bypasses scope (robots.txt may point at another host) but not the limits.
  void admit_sitemap(const std::string& location, int depth,
                     const frontier::shared_text& referrer) {
    if (!cfg.sitemaps.enabled || sitemap_files >= cfg.sitemaps.max_files) return;
    auto normalized = url::normalize(location);
    if (!normalized || !scope_rules.seed_length_ok(*normalized)) return;
    if (!front.mark_seen(*normalized)) return;
    if (store)
      store->admitted({*normalized, depth, cfg.limits.max_redirects, text_of(referrer), true});
    auto parts = url::split(*normalized);
    if (!parts) return;
    ++sitemap_files;
    if (fleet) {
      fleet->outbox.push_back(cluster::make_entry(*normalized, url::host_key(*parts), depth,
                                                  cfg.limits.max_redirects, true,
                                                  text_of(referrer)));
      return;
    }
    frontier::url_entry e;
    e.url = std::move(*normalized);
    e.host = front.host_for(url::host_key(*parts));
    e.depth = depth;
    e.redirects_left = cfg.limits.max_redirects;
    e.referrer = referrer;
    e.sitemap = true;
    enqueue(std::move(e));
  }

  // The sitemaps a host announces in robots.txt, else its /sitemap.xml; once per host.
  void admit_host_sitemaps(frontier::host_id host, const std::vector<std::string>& listed) {
    if (!cfg.sitemaps.enabled || !sitemap_hosts.insert(host).second) return;
    const std::string key = front.host_key(host);
    const auto robots_url = std::make_shared<const std::string>(key + "/robots.txt");
    if (listed.empty()) {
      admit_sitemap(key + "/sitemap.xml", 0, robots_url);
    } else {
      for (const auto& l : listed) admit_sitemap(l, 0, robots_url);
    }
  }

  // ---- admission -------------------------------------------------------------------------

  // The robots verdict for a URL of a host whose robots.txt is known; nullopt: allowed.
  std::optional<std::pair<error_kind, std::string>> robots_refusal(frontier::host_id h,
                                                                   const frontier::url_entry& e) {
    if (!cfg.robots.obey) return std::nullopt;
    host_robots& hr = robots_of(h);
    if (!hr.known) return std::nullopt;
    if (hr.failure) return std::make_pair(*hr.failure, hr.failure_message);
    if (!hr.rules.allowed(e.target())) {
      return std::make_pair(error_kind::robots, std::string("disallowed by robots.txt"));
    }
    return std::nullopt;
  }

  // Queues an entry already marked seen, or records why it is refused at once.
  void enqueue(frontier::url_entry e) {
    if (auto refusal = robots_refusal(e.host, e)) {
      auto r = untried_record(e, refusal->first, refusal->second);
      emit(r);
      return;
    }
    front.push(std::move(e));
    wake();
  }

  // A link or redirect target: true when it was added to the frontier.
  bool admit(const std::string& link, int depth, int redirects_left,
             const frontier::shared_text& referrer) {
    if (front.was_seen(link)) return false;
    auto parts = url::split(link);
    if (!parts) return false;
    auto verdict = scope_rules.check(link, parts->host, depth);
    if (verdict != scope::verdict::in) {
      if (filtered_urls.insert(frontier::url_hash(link))) ++counters.filtered;
      return false;
    }
    front.mark_seen(link);
    if (store) store->admitted({link, depth, redirects_left, text_of(referrer)});
    if (fleet) {
      // The fleet decides whether it is new (fleet_admit counts the page's new links).
      fleet->outbox.push_back(cluster::make_entry(link, url::host_key(*parts), depth,
                                                  redirects_left, false, text_of(referrer)));
      return false;
    }
    frontier::url_entry e;
    e.url = link;
    e.host = front.host_for(url::host_key(*parts));
    e.depth = depth;
    e.redirects_left = redirects_left;
    e.referrer = referrer;
    enqueue(std::move(e));
    return true;
  }

  // ---- the dispatcher ----------------------------------------------------------------------

  bool page_budget_left() const {
    if (cfg.scope.max_pages <= 0) return true;
    // Crawl-wide: pages reserved from the fleet's budget.
    if (fleet) return fleet->page_tokens > 0;
    return responses + open_pages < static_cast<std::uint64_t>(cfg.scope.max_pages);
  }

  bool budget_spent() const {
    if (cfg.scope.max_pages <= 0) return false;
    if (fleet) return fleet->budget_exhausted && fleet->page_tokens == 0 && open_pages == 0;
    return responses >= static_cast<std::uint64_t>(cfg.scope.max_pages);
  }

  milliseconds robots_sweep_interval() const {
    return std::clamp(milliseconds(cfg.robots.cache_ttl_ms / 4), milliseconds(250),
                      milliseconds(60000));
  }

  // RFC 9309 2.4: a cached robots.txt is used for at most 24 hours (robots.cache_ttl_ms). A
  // stale host goes back behind the robots gate: its next request is robots.txt again.
  void sweep_robots(steady::time_point now) {
    next_robots_sweep = now + robots_sweep_interval();
    auto ttl = milliseconds(cfg.robots.cache_ttl_ms);
    for (frontier::host_id h = 0; h < robots_by_host.size(); ++h) {
      host_robots& hr = robots_by_host[h];
      if (!hr.known || hr.failure || now - hr.fetched_at < ttl) continue;
      hr.known = false;
      hr.attempts = 0;
      front.robots_retry(h, now);
    }
  }

  asio::awaitable<void> run() {
    started = steady::now();
    next_robots_sweep = started + robots_sweep_interval();
    for (;;) {
      dirty = false;
      auto now = steady::now();
      if (cfg.robots.obey && now >= next_robots_sweep) sweep_robots(now);
      if (stopping) {
        if (open_requests == 0 && parsing == 0 && (!fleet || fleet->busy == 0)) break;
        if (cancel_at && now >= *cancel_at) {
          cancel_at.reset();
          fetcher.cancel_all();
        }
      } else {
        if (fleet) {
          // The fleet loop says when the crawl is over everywhere (or Redis is lost).
          if (open_requests == 0 && parsing == 0 && fleet->busy == 0 &&
              (fleet->finished || !fleet->failure.empty() || budget_spent())) {
            completed = fleet->finished;
            break;
          }
        } else if (open_requests == 0 && parsing == 0 &&
                   (front.idle() || budget_spent() || !front.next_wakeup())) {
          completed = front.idle();
          break;
        }
        // Fetched pages waiting for the parse pool are bounded too, so a fast network cannot
        // pile bodies up in memory ahead of the parsers.
        while (!paused && has_capacity()) {
          auto l = front.next_ready(now);
          if (!l) break;
          ++open_requests;
          if (l->kind == frontier::lease_kind::robots) {
            asio::co_spawn(ex, fetch_robots(l->host), detached_logged("robots fetch"));
          } else {
            ++open_pages;
            if (fleet && cfg.scope.max_pages > 0) --fleet->page_tokens;
            count_page_start(l->host);
            asio::co_spawn(ex, fetch_page(std::move(l->entry)), detached_logged("page fetch"));
          }
        }
      }
      if (dirty) continue;
      std::optional<steady::time_point> wake_at;
      // Without a free slot a due host cannot start anyway: the slot's release calls wake().
      // Waiting for the host's time instead would spin on a timer already due.
      if (!stopping && !paused && has_capacity()) {
        wake_at = front.next_wakeup();
        if (cfg.robots.obey && !front.idle() && (!wake_at || next_robots_sweep < *wake_at)) {
          wake_at = next_robots_sweep;
        }
      }
      if (cancel_at && (!wake_at || *cancel_at < *wake_at)) wake_at = cancel_at;
      wake_timer.expires_at(wake_at ? *wake_at : steady::time_point::max());
      co_await wake_timer.async_wait(use_tuple);
    }
    finished_at = steady::now();
    fetcher.close_idle();
    dispatcher_done = true;
    if (fleet) fleet->timer.cancel();
  }

  // Samples the event-loop lag into the stats until cancelled at the crawl's end; slowly while
  // paused, so a service holding paused crawls does not wake 100 times a second for each.
  asio::awaitable<void> probe_lag() {
    auto next = [this](steady::time_point from) {
      return from + (paused ? milliseconds(250) : milliseconds(loop_lag::period));
    };
    auto at = next(steady::now());
    for (;;) {
      lag_timer.expires_at(at);
      auto [ec] = co_await lag_timer.async_wait(use_tuple);
      if (ec) co_return;
      const auto now = steady::now();
      counters.lag.observe(std::chrono::duration<double, std::milli>(now - at).count());
      at = next(now);
    }
  }

  // ---- retries -----------------------------------------------------------------------------

  milliseconds backoff(int attempts) {
    // 0.5 s, 1 s, 2 s ... capped at 60 s, with +-50% jitter so hosts are not hit in lockstep.
    double base = 500.0 * std::pow(2.0, std::max(0, attempts - 1));
    base = std::min(base, 60000.0);
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    return milliseconds(static_cast<long long>(base * jitter(rng)));
  }

  // The delay before another try, or nullopt when no more tries are allowed.
  std::optional<milliseconds> retry_delay(const fetch::fetch_result& res, int attempts,
                                          frontier::host_id host) {
    // While stopping, a retry is still queued (not recorded): it stays for a resume.
    if (attempts >= cfg.limits.max_tries) return std::nullopt;
    bool retry = false;
    if (res.error) {
      retry = is_retryable(*res.error);
    } else if (res.has_response) {
      retry = res.status == 429 || (res.status >= 500 && res.status <= 599);
    }
    if (!retry) return std::nullopt;
    milliseconds delay = backoff(attempts);
    if (res.has_response) {
      if (auto ra = res.header("retry-after")) {
        if (auto d = parse_retry_after(*ra, std::chrono::system_clock::now())) {
          if (d->count() > cfg.limits.max_retry_after_ms) return std::nullopt;
          delay = *d;
          // The server asked the whole host to wait, not just this URL.
          front.block_host_until(host, steady::now() + delay);
        }
      }
    }
    return delay;
  }

  // ---- robots.txt ----------------------------------------------------------------------------

  asio::awaitable<void> fetch_robots(frontier::host_id host) {
    auto parts = url::split(front.host_key(host) + "/robots.txt");
    fetch::fetch_result res;
    if (parts) {
      // RFC 9309 2.3.1.2: follow at least five redirects.
      for (int hop = 0; hop <= 5; ++hop) {
        ++counters.robots_fetches;
        res = co_await fetcher.async_fetch(*parts);
        if (res.error || !res.has_response || res.status < 300 || res.status > 399) break;
        auto location = res.header("location");
        if (!location) break;
        auto next = url::resolve(url::host_key(*parts) + parts->target, *location);
        if (!next) break;
        auto next_parts = url::split(*next);
        if (!next_parts) break;
        parts = std::move(next_parts);
      }
    } else {
      res.error = error_kind::other;
      res.message = "cannot build the robots.txt URL";
    }
    // Looked up after the fetches: nothing from before a suspension is held across it.
    host_robots& hr = robots_of(host);
    ++hr.attempts;
    --open_requests;
    front.finish(host);

    bool settled = true;
    if (res.error) {
      if (res.error == error_kind::cancelled) {
        // Stopping: the host's URLs stay queued (SPEC "Stopping"), no verdict is made.
        settled = false;
      } else if (auto delay = retry_delay(res, hr.attempts, host)) {
        front.robots_retry(host, steady::now() + *delay);
        settled = false;
      } else {
        hr.failure = *res.error;
        hr.failure_message = "robots.txt: " + res.message;
      }
    } else if (res.status >= 200 && res.status <= 299) {
      hr.rules = robots::rules::parse(res.body, product_token);
      if (auto cd = hr.rules.crawl_delay()) {
        auto capped = std::min<long long>(cd->count(), cfg.robots.max_crawl_delay_ms);
        auto& hh = health_of(host);
        hh.floor = std::max(hh.floor, milliseconds(capped));
        front.set_host_delay(host, hh.floor);
      }
    } else if (res.status >= 400 && res.status <= 499 && res.status != 429) {
      hr.rules = robots::rules::allow_all();
    } else if (auto delay = retry_delay(res, hr.attempts, host)) {
      front.robots_retry(host, steady::now() + *delay);
      settled = false;
    } else {
      // RFC 9309 2.3.1.4: unreachable (5xx) means complete disallow.
      hr.rules = robots::rules::disallow_all();
    }

    // What the fleet is told (the next owner of the host reads it instead of fetching again).
    std::optional<cluster::robots_record> verdict;
    if (settled && fleet) {
      if (hr.failure) {
        verdict = cluster::robots_record{"failure", "", std::string(to_string(*hr.failure)),
                                         hr.failure_message};
      } else if (res.status >= 200 && res.status <= 299) {
        verdict = cluster::robots_record{"rules", res.body, "", ""};
      } else if (res.status >= 400 && res.status <= 499 && res.status != 429) {
        verdict = cluster::robots_record{"allow_all", "", "", ""};
      } else {
        verdict = cluster::robots_record{"disallow_all", "", "", ""};
      }
    }
    if (settled) {
      hr.known = true;
      hr.fetched_at = steady::now();
      if (!hr.failure) admit_host_sitemaps(host, hr.rules.sitemaps());
      front.robots_ready(host);
      auto refused = front.remove_if(
          host, [&](const frontier::url_entry& e) { return robots_refusal(host, e).has_value(); });
      for (auto& e : refused) {
        auto refusal = robots_refusal(host, e);
        auto r = untried_record(e, refusal->first, refusal->second);
        emit(r);
      }
    }
    wake();
    if (fleet) {
      std::vector<cluster::shared_entry> sitemaps;
      take_outbox(sitemaps);
      ++fleet->busy;
      if (!sitemaps.empty()) {
        co_await fleet_call<std::vector<bool>>([&] { return fleet->shared->admit(sitemaps); });
      }
      if (verdict) {
        const std::string key = front.host_key(host);
        co_await fleet_call<bool>([&] {
          return fleet->shared->store_robots(key, *verdict, milliseconds(cfg.robots.cache_ttl_ms));
        });
      }
      --fleet->busy;
      wake();
    }
  }

  // ---- pages ---------------------------------------------------------------------------------

  asio::awaitable<void> fetch_page(frontier::url_entry e) {
    auto parts = url::split(e.url);
    fetch::fetch_result res;
    if (parts) {
      std::optional<std::size_t> cap;
      if (e.sitemap) cap = static_cast<std::size_t>(cfg.sitemaps.max_bytes);
      res = co_await fetcher.async_fetch(*parts, cap);
    } else {
      res.error = error_kind::other;
      res.message = "not a fetchable URL";
    }
    ++e.attempts;
    --open_requests;
    --open_pages;
    front.finish(e.host);
    // The request slot is free now: let the dispatcher start the next fetch while this page
    // is parsed, so latency-bound crawls keep every slot busy.
    wake();
    // The address policy refused every address of the host: no request left the machine, so
    // the URL was never tried (SPEC "Precise rules": attempts 0, elapsed_ms 0), with robots
    // on or off.
    if (res.error == error_kind::blocked_address) {
      uncount_page_start(e.host);
      if (fleet && cfg.scope.max_pages > 0) ++fleet->page_tokens;
      auto r = untried_record(e, *res.error, res.message);
      emit(r);
      co_return;
    }
    note_host_outcome(e.host, res);
    if (parts) counters.fetch_duration.observe(std::chrono::duration<double>(res.elapsed).count());

    if (res.error != error_kind::cancelled) {
      if (auto delay = retry_delay(res, e.attempts, e.host)) {
        uncount_page_start(e.host);
        if (fleet && cfg.scope.max_pages > 0) ++fleet->page_tokens;
        front.retry(std::move(e), steady::now() + *delay);
        wake();
        co_return;
      }
    }
    if (!res.has_response) uncount_page_start(e.host);
    if (res.has_response) ++responses;
    if (fleet && cfg.scope.max_pages > 0 && !res.has_response) ++fleet->page_tokens;
    // Cancelled by a stop: the URL goes back to the fleet's queue of its host.
    if (fleet && res.error == error_kind::cancelled) fleet->give_back.push_back(to_shared(e));
    // Links of this page for the fleet, taken after each synchronous stretch of admissions.
    std::vector<cluster::shared_entry> fleet_links;

    // The page's links share one copy of its URL as their referrer.
    frontier::shared_text self_as_referrer;
    auto as_referrer = [&]() -> const frontier::shared_text& {
      if (!self_as_referrer) self_as_referrer = std::make_shared<const std::string>(e.url);
      return self_as_referrer;
    };

    record::fetch_record r;
    r.url = e.url;
    r.depth = e.depth;
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
    std::optional<std::string> ct_header = res.header("content-type");
    if (ct_header) r.content_type = record::media_type(*ct_header);
    if (fields.headers) r.headers = res.headers;
    robots::directives directives;
    for (const auto& [name, value] : res.headers) {
      if (name == "x-robots-tag") robots::apply_x_robots_tag(value, product_token, directives);
    }
    // A header nofollow covers every link; meta and rel=nofollow are applied by the extractor.
    bool header_nofollow = directives.nofollow && !cfg.fetch.follow_nofollow;

    if (res.has_response && !res.error && res.status >= 300 && res.status <= 399) {
      handle_redirect(e, res, r);
    }
    take_outbox(fleet_links);

    bool html = is_html(r.content_type) && res.has_response && res.status >= 200 &&
                res.status <= 299 && !res.body.empty() && (!res.error || res.truncated);
    std::optional<std::string> header_charset;
    if (ct_header) header_charset = record::charset_param(*ct_header);
    if (!html && header_charset) {
      if (auto canonical = extract::canonical_charset(*header_charset)) r.charset = *canonical;
    }
    if (e.sitemap && res.has_response && res.status >= 200 && res.status <= 299 &&
        !res.body.empty()) {
      ++parsing;
      auto parsed = co_await asio::co_spawn(
          pool,
          parse_sitemap_on_pool(std::move(res.body), e.url,
                                static_cast<std::size_t>(cfg.sitemaps.max_bytes),
                                cfg.limits.parse_priority),
          asio::use_awaitable);
      --parsing;
      r.sha256 = std::move(parsed.sha256);
      bool index = parsed.facts.page_nofollow;
      r.links.reserve(parsed.facts.links.size());
      for (auto& l : parsed.facts.links) {
        {
          if (index) {
            std::int64_t before = sitemap_files;
            admit_sitemap(l.url, e.depth, as_referrer());
            if (sitemap_files != before) ++r.new_links;
          } else if (sitemap_urls < cfg.sitemaps.max_urls &&
                     admit(l.url, e.depth + 1, cfg.limits.max_redirects, as_referrer())) {
            ++sitemap_urls;
            ++r.new_links;
          }
        }
        r.links.push_back(std::move(l.url));
      }
    } else if (res.has_response && (!res.body.empty())) {
      ++parsing;
      auto parsed =
          co_await asio::co_spawn(pool,
                                  parse_on_pool(std::move(res.body), e.url, header_charset, html,
                                                extract_opt, cfg.limits.parse_priority),
                                  asio::use_awaitable);
      --parsing;
      r.sha256 = std::move(parsed.sha256);
      if (html) {
        auto& f = parsed.facts;
        r.charset = f.charset;
        r.title = std::move(f.title);
        if (fields.canonical) r.canonical = std::move(f.canonical);
        if (fields.meta_robots) r.meta_robots = std::move(f.meta_robots);
        if (fields.text) r.text = std::move(f.text);
        for (const auto& token : f.meta_robots) robots::apply_meta_token(token, directives);
        r.links.reserve(f.links.size());
        for (auto& l : f.links) {
          // Links are admitted even while stopping: they are saved for a resume, not fetched.
          if (l.follow && !header_nofollow &&
              admit(l.url, e.depth + 1, cfg.limits.max_redirects, as_referrer())) {
            ++r.new_links;
          }
          r.links.push_back(std::move(l.url));
        }
      }
    } else if (res.has_response && !res.error) {
      r.sha256 = record::sha256_hex("");
    }
    take_outbox(fleet_links);
    if (fleet && !fleet_links.empty()) {
      ++fleet->busy;
      auto flags =
          co_await fleet_call<std::vector<bool>>([&] { return fleet->shared->admit(fleet_links); });
      --fleet->busy;
      // Only the fleet knows which links were new to the crawl.
      r.new_links = 0;
      if (flags) r.new_links = static_cast<int>(std::count(flags->begin(), flags->end(), true));
    }
    r.noindex = directives.noindex;
    r.nofollow = directives.nofollow;
    r.fetched_at = std::chrono::system_clock::now();
    emit(r);
    wake();
  }

  void handle_redirect(const frontier::url_entry& e, const fetch::fetch_result& res,
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
    if (e.sitemap) {
      admit_sitemap(*target, e.depth, std::make_shared<const std::string>(e.url));
    } else {
      admit(*target, e.depth, e.redirects_left - 1, std::make_shared<const std::string>(e.url));
    }
  }

  // ---- cluster mode ----------------------------------------------------------------------------

  void take_outbox(std::vector<cluster::shared_entry>& into) {
    if (!fleet || fleet->outbox.empty()) return;
    for (auto& e : fleet->outbox) into.push_back(std::move(e));
    fleet->outbox.clear();
  }

  cluster::shared_entry to_shared(const frontier::url_entry& e) const {
    return cluster::make_entry(e.url, front.host_key(e.host), e.depth, e.redirects_left, e.sitemap,
                               text_of(e.referrer));
  }

  milliseconds fleet_give_up() const {
    // Long enough for a Redis restart; a dead worker's hosts come back after lease_ms anyway.
    return std::max(milliseconds(5000), 2 * milliseconds(cfg.cluster.lease_ms));
  }

  void fail_fleet(const std::string& why) {
    if (!fleet->failure.empty()) return;
    fleet->failure = why + " (gave up after " + std::to_string(fleet_give_up().count() / 1000) +
                     " s of retries)";
    log::error("cluster: " + fleet->failure);
    stopping = true;
    hard_stop = true;
    fetcher.cancel_all();
    wake();
  }

  // One call to Redis, retried with backoff while Redis is unreachable, for a bounded time;
  // then the crawl fails (nullopt). `op` makes the call again for each try.
  template <class T, class Op>
  asio::awaitable<std::optional<T>> fleet_call(Op op) {
    milliseconds pause{100};
    std::optional<steady::time_point> failing_since;
    for (;;) {
      if (!fleet->failure.empty()) co_return std::nullopt;
      auto r = co_await op();
      if (r.ok()) co_return std::optional<T>(std::move(r.value));
      const auto now = steady::now();
      if (!failing_since) {
        failing_since = now;
        log::warn("cluster: " + r.message + "; retrying");
      }
      if (now - *failing_since > fleet_give_up()) {
        fail_fleet(r.message);
        co_return std::nullopt;
      }
      asio::steady_timer t(ex, pause);
      co_await t.async_wait(use_tuple);
      pause = std::min(pause * 2, milliseconds(2000));
    }
  }

  bool locally_idle() const {
    return open_requests == 0 && parsing == 0 && front.idle() && fleet->busy == 0 &&
           fleet->outbox.empty();
  }

  // A host now ours: its robots.txt verdict as the fleet knows it, the wait its previous owner
  // left, and its claimed entries.
  void install(cluster::claimed_host& c) {
    const frontier::host_id h = front.host_for(c.host);
    fleet->owned[h] = c.host;
    if (cfg.robots.obey && c.robots && !robots_of(h).known) {
      host_robots& hr = robots_of(h);
      const auto& rr = *c.robots;
      if (rr.outcome == "rules") {
        hr.rules = robots::rules::parse(rr.body, product_token);
        if (auto cd = hr.rules.crawl_delay()) {
          auto capped = std::min<long long>(cd->count(), cfg.robots.max_crawl_delay_ms);
          auto& hh = health_of(h);
          hh.floor = std::max(hh.floor, milliseconds(capped));
          front.set_host_delay(h, hh.floor);
        }
      } else if (rr.outcome == "disallow_all") {
        hr.rules = robots::rules::disallow_all();
      } else if (rr.outcome == "failure") {
        hr.failure = error_kind_from_string(rr.failure_kind).value_or(error_kind::other);
        hr.failure_message = rr.failure_message;
      } else {
        hr.rules = robots::rules::allow_all();
      }
      hr.known = true;
      hr.fetched_at = steady::now();
      front.robots_ready(h);
    }
    if (c.wait.count() > 0) front.block_host_until(h, steady::now() + c.wait);
    install_entries(h, c.entries);
  }

  void install_entries(frontier::host_id h, std::vector<cluster::shared_entry>& entries) {
    frontier::shared_text last_referrer;
    for (auto& se : entries) {
      frontier::url_entry e;
      front.mark_seen(se.url);
      e.url = std::move(se.url);
      e.host = h;
      e.depth = se.depth;
      e.redirects_left = se.redirects_left;
      e.sitemap = se.sitemap;
      if (!se.referrer.empty()) {
        if (!last_referrer || *last_referrer != se.referrer)
          last_referrer = std::make_shared<const std::string>(std::move(se.referrer));
        e.referrer = last_referrer;
      }
      enqueue(std::move(e));
    }
  }

  milliseconds wait_left(frontier::host_id h) const {
    const auto at = front.host_eligible_at(h);
    const auto now = steady::now();
    return at > now ? std::chrono::duration_cast<milliseconds>(at - now) : milliseconds(0);
  }

  // Gives a host back with what is still queued for it here.
  asio::awaitable<void> release_host(frontier::host_id h) {
    auto it = fleet->owned.find(h);
    if (it == fleet->owned.end()) co_return;
    const std::string key = it->second;
    fleet->owned.erase(it);
    std::vector<cluster::shared_entry> unfinished;
    for (auto& e : front.remove_if(h, [](const frontier::url_entry&) { return true; }))
      unfinished.push_back(to_shared(e));
    const milliseconds wait = wait_left(h);
    co_await fleet_call<bool>([&] { return fleet->shared->release(key, wait, unfinished); });
  }

  // The scope's seed hosts are the crawl's: a worker started without seeds learns them here.
  asio::awaitable<void> sync_seed_hosts(const std::vector<std::string>& mine) {
    const std::string key = fleet->shared->prefix() + "seedhosts";
    std::vector<redis::command> cmds;
    if (!mine.empty()) {
      redis::command add = {"SADD", key};
      add.insert(add.end(), mine.begin(), mine.end());
      cmds.push_back(std::move(add));
    }
    cmds.push_back({"SMEMBERS", key});
    auto r = co_await fleet->redis->exec(std::move(cmds));
    if (!r.ok() || r.replies.empty()) co_return;
    for (const auto& h : r.replies.back().elements) scope_rules.add_seed_host(h.str);
  }

  asio::awaitable<void> fleet_flush(bool force) {
    auto& f = *fleet;
    const auto now = steady::now();
    if (f.done.empty() || (!force && now < f.next_flush)) co_return;
    // Every tick: the records written but not yet marked done are what a kill -9 would have
    // recorded twice, so that window stays a few tens of milliseconds.
    f.next_flush = now + milliseconds(20);
    if (!f.flush_output()) co_return;  // the output failed: the app stops the crawl
    auto done = std::move(f.done);
    f.done.clear();
    co_await fleet_call<std::vector<bool>>([&] { return f.shared->record(done, {}); });
  }

  asio::awaitable<void> fleet_tick() {
    auto& f = *fleet;
    const auto lease = milliseconds(cfg.cluster.lease_ms);
    co_await fleet_flush(false);
    auto now = steady::now();
    if (now >= f.next_renew) {
      f.next_renew = now + lease / 3;
      std::vector<std::string> keys;
      for (const auto& [id, key] : f.owned) keys.push_back(key);
      auto lost =
          co_await fleet_call<std::vector<std::string>>([&] { return f.shared->renew(keys); });
      if (lost) {
        for (const auto& key : *lost) {
          // Another worker has the host now: what is queued for it here goes back.
          std::optional<frontier::host_id> lost_id;
          for (const auto& [id, k] : f.owned) {
            if (k == key) lost_id = id;
          }
          if (!lost_id) continue;
          log::warn("cluster: lost the lease of " + key);
          co_await release_host(*lost_id);
        }
      }
    }
    if (now >= f.next_reap) {
      f.next_reap = now + lease;
      co_await fleet_call<std::int64_t>([&] { return f.shared->reap(2 * lease); });
    }
    if (now >= f.next_seeds) {
      f.next_seeds = now + milliseconds(2000);
      co_await sync_seed_hosts({});
    }
    if (stopping) {
      // SIGTERM: the hosts go back at once; open requests finish or are cancelled.
      if (!f.handed_back) {
        f.handed_back = true;
        std::vector<frontier::host_id> ids;
        for (const auto& [id, key] : f.owned) ids.push_back(id);
        for (auto id : ids) co_await release_host(id);
      }
      co_return;
    }
    // Hosts running low here get more of their queue before their requests run out (their
    // new links are in Redis too); a host with nothing left at all goes back to the fleet.
    const std::size_t low_water = static_cast<std::size_t>(std::max(1, cfg.limits.per_host)) * 2;
    std::vector<frontier::host_id> low;
    for (const auto& [id, key] : f.owned) {
      if (front.queued_on(id) < low_water) low.push_back(id);
    }
    for (auto id : low) {
      auto it = f.owned.find(id);
      if (it == f.owned.end() || front.queued_on(id) >= low_water) continue;
      const std::string key = it->second;
      auto more = co_await fleet_call<std::optional<std::vector<cluster::shared_entry>>>(
          [&] { return f.shared->refill(key); });
      if (!more) continue;
      if (!*more) {
        f.owned.erase(id);  // the lease was lost meanwhile
      } else if (!(*more)->empty()) {
        install_entries(id, **more);
        wake();
      } else if (front.pending_on(id) == 0 && f.owned.count(id)) {
        co_await release_host(id);
      }
    }
    // Crawl-wide page budget.
    if (cfg.scope.max_pages > 0 && !f.budget_exhausted &&
        f.page_tokens < static_cast<std::int64_t>(cfg.limits.concurrency)) {
      const std::int64_t want = cfg.limits.concurrency - f.page_tokens;
      auto got = co_await fleet_call<std::int64_t>(
          [&] { return f.shared->reserve_pages(cfg.scope.max_pages, want); });
      if (got) {
        f.page_tokens += *got;
        if (*got == 0) f.budget_exhausted = true;
        // Either way the dispatcher has something to decide: start pages, or end.
        wake();
      }
    }
    // Claim hosts while this worker can use more: per_host requests each, up to concurrency.
    if (!paused && !budget_spent()) {
      const std::size_t per = static_cast<std::size_t>(std::max(1, cfg.limits.per_host));
      const std::size_t slots = (static_cast<std::size_t>(cfg.limits.concurrency) + per - 1) / per;
      std::size_t busy_hosts = 0;
      for (const auto& [id, key] : f.owned) {
        if (front.pending_on(id) > 0) ++busy_hosts;
      }
      if (busy_hosts < slots) {
        auto got = co_await fleet_call<std::vector<cluster::claimed_host>>(
            [&] { return f.shared->claim(slots - busy_hosts); });
        if (got && !got->empty()) {
          for (auto& c : *got) install(c);
          wake();
        }
      }
    }
    // Nothing here and nothing anywhere: the crawl is over.
    if (locally_idle() && f.owned.empty() && f.done.empty()) {
      auto st =
          co_await fleet_call<cluster::crawl_status>([&] { return f.shared->status(2 * lease); });
      if (st) {
        f.status = *st;
        if (st->finished() && locally_idle() && f.owned.empty()) {
          f.finished = true;
          wake();
        }
      }
    } else if (now >= f.next_status) {
      f.next_status = now + milliseconds(1000);
      auto st =
          co_await fleet_call<cluster::crawl_status>([&] { return f.shared->status(2 * lease); });
      if (st) f.status = *st;
    }
  }

  asio::awaitable<void> fleet_loop() {
    auto& f = *fleet;
    std::vector<std::string> seed_hosts;
    for (const auto& e : f.seeds) {
      if (auto parts = url::split(e.url)) seed_hosts.push_back(parts->host);
    }
    co_await sync_seed_hosts(seed_hosts);
    if (!f.seeds.empty()) {
      auto seeds = std::move(f.seeds);
      f.seeds.clear();
      co_await fleet_call<std::vector<bool>>([&] { return f.shared->admit(seeds); });
    }
    while (!dispatcher_done && f.failure.empty()) {
      co_await fleet_tick();
      if (dispatcher_done || !f.failure.empty()) break;
      f.timer.expires_after(f.owned.empty() ? milliseconds(50) : milliseconds(20));
      co_await f.timer.async_wait(use_tuple);
    }
    if (!f.failure.empty()) co_return;
    // The end (or a stop): records marked done, the rest handed back, the budget returned.
    co_await fleet_flush(true);
    std::map<std::string, std::vector<cluster::shared_entry>> back;
    for (auto& e : f.give_back) back[e.host].push_back(std::move(e));
    f.give_back.clear();
    std::vector<frontier::host_id> ids;
    for (const auto& [id, key] : f.owned) ids.push_back(id);
    for (auto id : ids) co_await release_host(id);
    for (auto& [host, entries] : back) {
      const std::string key = host;
      co_await fleet_call<bool>([&] { return f.shared->release(key, milliseconds(0), entries); });
    }
    if (f.page_tokens > 0) {
      const auto n = f.page_tokens;
      f.page_tokens = 0;
      co_await fleet_call<bool>([&] { return f.shared->unreserve_pages(n); });
    }
    auto st = co_await fleet_call<cluster::crawl_status>(
        [&] { return f.shared->status(2 * milliseconds(cfg.cluster.lease_ms)); });
    if (st) f.status = *st;
    co_await fleet_call<bool>([&] { return f.shared->leave(); });
  }
};

crawler::crawler(asio::any_io_executor ex, config::crawl_config cfg, line_writer write)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(cfg), std::move(write))) {}

crawler::~crawler() = default;

std::vector<std::string> crawler::admit_seeds(const std::vector<std::string>& seeds) {
  std::vector<std::string> problems;
  impl& m = *impl_;
  for (const auto& s : seeds) {
    auto normalized = url::normalize_seed(s);
    if (!normalized) {
      problems.push_back("seed \"" + s + "\": not an http(s) URL");
      continue;
    }
    if (!m.scope_rules.seed_length_ok(*normalized)) {
      ++m.counters.filtered;
      problems.push_back("seed \"" + s + "\": longer than scope.max_url_length");
      continue;
    }
    auto parts = url::split(*normalized);
    if (!parts) {
      problems.push_back("seed \"" + s + "\": not an http(s) URL");
      continue;
    }
    m.scope_rules.add_seed_host(parts->host);
    ++m.seeds;
    if (m.fleet) {
      // Offered to the fleet when the crawl runs: whichever worker saw it first admitted it.
      m.fleet->seeds.push_back(cluster::make_entry(*normalized, url::host_key(*parts), 0,
                                                   m.cfg.limits.max_redirects, false, ""));
      continue;
    }
    if (m.front.was_seen(*normalized)) continue;  // crawled before this resume
    // Without robots.txt there is no Sitemap: line to read; /sitemap.xml is the convention.
    if (!m.cfg.robots.obey) m.admit_host_sitemaps(m.front.host_for(url::host_key(*parts)), {});
    if (!m.front.mark_seen(*normalized)) continue;
    if (m.store) m.store->admitted({*normalized, 0, m.cfg.limits.max_redirects, ""});
    frontier::url_entry e;
    e.url = *normalized;
    e.host = m.front.host_for(url::host_key(*parts));
    e.depth = 0;
    e.redirects_left = m.cfg.limits.max_redirects;
    m.enqueue(std::move(e));
  }
  return problems;
}

void crawler::attach_state(state::crawl_state& st, const crawl_stats& carried) {
  impl& m = *impl_;
  m.store = &st;
  m.carried = carried;
  m.responses += carried.pages;
  st.for_each_url([&](std::string_view url, bool) { m.front.mark_seen(url); });
  frontier::shared_text last_referrer;
  for (auto& p : st.pending()) {
    auto parts = url::split(p.url);
    if (!parts) continue;
    frontier::url_entry e;
    e.url = std::move(p.url);
    e.host = m.front.host_for(url::host_key(*parts));
    e.depth = p.depth;
    e.redirects_left = p.redirects_left;
    e.sitemap = p.sitemap;
    // Pending entries come grouped by referrer: consecutive ones share its string.
    if (!p.referrer.empty()) {
      if (!last_referrer || *last_referrer != p.referrer)
        last_referrer = std::make_shared<const std::string>(std::move(p.referrer));
      e.referrer = last_referrer;
    }
    m.enqueue(std::move(e));
  }
}

bool crawler::completed() const {
  return impl_->completed;
}

std::size_t crawler::admitted_seeds() const {
  return impl_->seeds;
}

asio::awaitable<void> crawler::run() {
  using namespace asio::experimental::awaitable_operators;
  // The probe ends when the dispatcher does: || cancels it and waits for it. The fleet loop
  // ends after the dispatcher, having handed back what this worker holds.
  if (impl_->fleet) {
    co_await ((impl_->run() && impl_->fleet_loop()) || impl_->probe_lag());
  } else {
    co_await (impl_->run() || impl_->probe_lag());
  }
}

void crawler::join_fleet(cluster::shared_frontier& shared, redis::client& redis,
                         std::function<bool()> flush_output) {
  impl& m = *impl_;
  m.fleet = std::make_unique<impl::fleet_state>(m.ex);
  m.fleet->shared = &shared;
  m.fleet->redis = &redis;
  m.fleet->flush_output = std::move(flush_output);
}

const std::string& crawler::fleet_failure() const {
  static const std::string none;
  return impl_->fleet ? impl_->fleet->failure : none;
}

void crawler::stop(std::chrono::milliseconds grace) {
  impl& m = *impl_;
  if (m.stopping) return;
  m.stopping = true;
  m.cancel_at = steady::now() + grace;
  m.wake();
}

void crawler::stop_now() {
  impl& m = *impl_;
  m.stopping = true;
  m.hard_stop = true;
  m.cancel_at.reset();
  m.fetcher.cancel_all();
  m.wake();
}

bool crawler::stopping() const {
  return impl_->stopping;
}

void crawler::pause() {
  impl_->paused = true;
}

void crawler::resume() {
  impl_->paused = false;
  impl_->wake();
}

bool crawler::paused() const {
  return impl_->paused;
}

crawl_stats crawler::stats() const {
  const impl& m = *impl_;
  crawl_stats s = m.counters;
  s.seen = m.front.seen();
  s.queued = m.front.queued();
  s.in_flight = m.open_requests;
  auto end = m.finished_at ? *m.finished_at : steady::now();
  s.elapsed_s = std::chrono::duration<double>(end - m.started).count();
  s.carry_from(m.carried);
  if (m.fleet) {
    cluster_counts c;
    if (m.fleet->status) {
      const auto& st = *m.fleet->status;
      c = cluster_counts{st.seen, st.queued, st.claimed, st.workers, st.hosts_owned, st.pages};
    }
    c.owned_here = static_cast<std::int64_t>(m.fleet->owned.size());
    s.cluster = c;
  }
  return s;
}

}  // namespace trawler::crawl
