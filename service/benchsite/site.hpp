#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// The benchmark's synthetic web site: N realistic HTML pages spread over H virtual hosts
// ("host0.bench" ... ), generated deterministically from a seed and kept in memory.
// Pure: no I/O. Every page is reachable from http://host0.bench:PORT/ through a spanning
// tree of links, so a complete crawl from that one seed fetches exactly `pages` pages.
namespace trawler::benchsite {

// --- The change model (bench/README.md "Live freshness"): off unless change_options::enabled.
// With it, a page's content, status and validators are a pure function of (page, simulated
// time); the server maps its wall clock to simulated time (site_server::options::day_ms).

using sim_ms = std::int64_t;  // simulated milliseconds since the site started
inline constexpr sim_ms sim_day = 86400000;
inline constexpr sim_ms sim_never = std::numeric_limits<sim_ms>::max();

// How a page changes. Hubs are the hosts' front pages: they change when a new page of their
// host appears (they list the new pages). The others change as Poisson processes of mean
// interval 1 hour, 1 day or 1 week, or never; churn pages never change their text but their
// markup (a nonce) differs in every response.
enum class page_class : std::uint8_t { hub, hourly, daily, weekly, never, churn };
std::string_view class_name(page_class c);
// The class's mean change interval in simulated ms (0: never).
sim_ms mean_change_interval(page_class c);

// What a host does with validators: sends an ETag, a Last-Modified, both, or neither, and
// answers 304 to a matching If-None-Match / If-Modified-Since (RFC 9110 13.1, 13.2.2);
// `ignore` sends both but always answers 200.
enum class validator_mode : std::uint8_t { both, etag, last_modified, none, ignore };
std::string_view validator_mode_name(validator_mode m);  // "both", "etag", "last-modified", ...
std::optional<validator_mode> parse_validator_mode(std::string_view name);

struct change_options {
  bool enabled = false;
  // Shares of the pages that are not hubs, by class; "never" takes the rest.
  double hourly = 0.05;
  double daily = 0.20;
  double weekly = 0.45;
  double churn = 0.10;
  double deleted = 0.01;        // deleted at a random time of the horizon: half 404, half 410
  double flapping = 0.03;       // answer 404 for a while, now and then, then come back unchanged
  double flap_every_days = 2;   // mean time between two flaps of a page (Poisson)
  double flap_min_minutes = 5;  // a flap lasts a uniform time in [min, max]
  double flap_max_minutes = 30;
  int new_pages = 0;         // appear at uniform random times of the horizon, each linked from its
                             // host's front page; they take the indexes pages, pages + 1, ...
  double horizon_days = 60;  // what is modelled: after it nothing changes any more
  // Per host, cycled (host h: hosts[h % size]).
  std::vector<validator_mode> hosts = {validator_mode::both, validator_mode::etag,
                                       validator_mode::last_modified, validator_mode::none,
                                       validator_mode::ignore};
};

enum class page_state : std::uint8_t { unborn, live, flapping, deleted };

// What the site answers to a request for a page at a simulated time.
struct answer {
  int status = 404;           // 200, 304, 404 or 410
  std::uint32_t version = 0;  // of the page at that time (meaningful for 200 and 304)
  std::string etag;           // header values to send ("": none)
  std::string last_modified;
};

// RFC 9110 5.6.7 HTTP-date (IMF-fixdate, RFC 850 or asctime) to Unix seconds; nullopt when it is
// none of them. And Unix seconds to an IMF-fixdate.
std::optional<std::int64_t> parse_http_date(std::string_view s);
std::string http_date(std::int64_t unix_seconds);
// RFC 9110 13.1.2: whether an If-None-Match value ("*" or a list of entity tags) matches `etag`
// by the weak comparison (W/ ignored on both sides).
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

struct site_options {
  int pages = 2000;
  int hosts = 1;
  std::size_t page_bytes = 28000;  // approximate size of each page's HTML
  int links = 34;                  // <a href> links to pages of the site on each page
  std::uint64_t seed = 1;
  std::uint16_t port = 80;  // written into absolute links (":80" is left out)
  change_options changes;   // off by default: the pages never change
};

class site {
 public:
  // Renders every page; throws std::invalid_argument for out-of-range options.
  explicit site(site_options opt);

  const site_options& options() const { return opt_; }
  // The pages there are at the start (the change model's new pages not counted).
  int pages() const { return opt_.pages; }
  // With the new pages of the change model.
  int total_pages() const { return static_cast<int>(pages_.size()); }
  int hosts() const { return opt_.hosts; }

  // "host3.bench"
  static std::string host_name(int host);
  // "http://host3.bench:8080"
  std::string origin(int host) const;
  // The host serving a page: page % hosts.
  int host_of(int page) const { return page % opt_.hosts; }
  // Path and query of a page as a client sends it ("/", "/s3/p12.html",
  // "/catalog?section=4&item=27").
  const std::string& target(int page) const {
    return pages_[static_cast<std::size_t>(page)].target;
  }
  // Absolute URL of a page, as a normalizing crawler records it.
  std::string url(int page) const;
  // Every page's absolute URL, page 0 (the seed) first: the ground truth of a full crawl (at the
  // start, with the change model).
  std::vector<std::string> ground_truth() const;

  // The host index named by a Host header value ("host3.bench:8080", any case); a name that
  // is not one of the site's hosts (an IP address, "localhost") means host 0, so tools that
  // cannot set Host still reach the site.
  int host_index(std::string_view host_header) const;
  // The page at a request target on a host, or -1.
  int find(int host, std::string_view target) const;

  // A page's HTML in three pieces: its own head and links, a prefix of a filler article
  // shared with other pages (so 20,000 pages of 28 KB take tens of MB, not 560), and its own
  // tail. Write them in order; no copy is needed.
  std::array<std::string_view, 3> body(int page) const;
  std::size_t body_size(int page) const;
  // The three pieces joined (for tools that parse pages without a server).
  std::string body_string(int page) const;

  // "User-agent: *" with an empty Disallow: everything allowed (RFC 9309).
  static std::string_view robots_txt();

  // --- The change model (all of this is meaningful only when changing()).
  bool changing() const { return opt_.changes.enabled; }
  page_class class_of(int page) const;
  validator_mode validators_of(int host) const;
  // When the page appears (the initial pages: a day before the start).
  sim_ms born(int page) const;
  // When it is deleted (sim_never: never), and what it answers from then on (404 or 410).
  sim_ms deleted_at(int page) const;
  int deleted_status(int page) const;
  // When its versions start: version k (k >= 1) from changes(page)[k - 1], whole simulated
  // seconds, ascending (a hub's versions come with the births of its host's new pages).
  const std::vector<sim_ms>& changes(int page) const;
  // [from, to) spans during which the page answers 404, ascending, disjoint.
  const std::vector<std::pair<sim_ms, sim_ms>>& flaps(int page) const;
  page_state state_at(int page, sim_ms t) const;
  std::uint32_t version_at(int page, sim_ms t) const;
  sim_ms version_start(int page, std::uint32_t version) const;
  // The validators of a version: the ETag ("p12v3" quoted; weak, W/, for churn pages, whose bytes
  // differ between responses) and the Last-Modified, an IMF-fixdate on the simulated calendar
  // (simulated time 0 is sim_epoch_unix_ms), so versions a simulated second apart differ.
  std::string etag(int page, std::uint32_t version) const;
  std::string last_modified(int page, std::uint32_t version) const;
  static constexpr std::int64_t sim_epoch_unix_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  // The answer to a GET or HEAD of a page at simulated time t with these request headers
  // ("" when absent): 404/410 unless live; else 304 when the host honours validators and the
  // conditions say so (RFC 9110 13.2.2: If-None-Match first, If-Modified-Since only without it),
  // else 200.
  answer respond(int page, sim_ms t, std::string_view if_none_match,
                 std::string_view if_modified_since) const;

  // A page's HTML at a version: its head, the version's own piece (built in `scratch`: a
  // revision note, a hub's list of new pages, a churn page's nonce), the filler and the tail.
  // Without the change model the second piece is empty and the bytes are body(page)'s.
  // `nonce` only matters for churn pages (every response differs in markup, not in text).
  std::array<std::string_view, 4> body_at(int page, std::uint32_t version, std::uint64_t nonce,
                                          std::string& scratch) const;

 private:
  struct page {
    std::string target;
    std::string head;
    std::string tail;
    std::uint32_t filler = 0;       // index into fillers_
    std::uint32_t filler_size = 0;  // bytes of that filler used
  };
  struct filler {
    std::string html;
    std::vector<std::size_t> cuts;  // offsets after each whole block element, ascending
  };

  struct model {
    page_class cls = page_class::never;
    int deleted_status = 404;
    sim_ms born = -sim_day;
    sim_ms deleted = sim_never;
    std::vector<sim_ms> changes;
    std::vector<std::pair<sim_ms, sim_ms>> flaps;
  };

  std::string href(int from, int to, std::uint64_t style) const;
  void render(int i);
  void build_model();
  void append_version_piece(std::string& out, int page, std::uint32_t version,
                            std::uint64_t nonce) const;

  site_options opt_;
  std::vector<page> pages_;
  std::vector<filler> fillers_;
  // Per host: target -> page. Keys view pages_[].target, which never moves after construction.
  std::vector<std::unordered_map<std::string_view, int>> index_;
  std::vector<model> models_;                  // per page, with the change model
  std::vector<std::vector<int>> new_on_host_;  // per host: its new pages, by birth
};

}  // namespace trawler::benchsite
