#include "api/crawl_manager.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "api/crawl_history.hpp"
#include "api/service_paths.hpp"
#include "common/log.hpp"
#include "crawl/crawl_output.hpp"
#include "crawl/crawler.hpp"
#include "crawl/end_reason.hpp"
#include "explain/explain.hpp"
#include "metrics/histogram.hpp"
#include "metrics/prometheus.hpp"
#include "record/record.hpp"
#include "recrawl/visit.hpp"
#include "report/crawl_report.hpp"
#include "sink/line_reader.hpp"
#include "state/crawl_state.hpp"

namespace trawler::api {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;

struct crawl_manager::timer_holder {
  explicit timer_holder(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
};

struct crawl_manager::entry {
  std::string id;
  crawl_state state = crawl_state::running;
  config::crawl_config cfg;  // paths absolute
  fs::path dir;
  std::string created_at;
  std::optional<std::string> finished_at;
  std::optional<std::string> error;
  std::unique_ptr<crawl::crawl_output> output;  // records and, with state.dir, the state
  std::unique_ptr<crawl::crawler> crawler;
  bool live = false;         // run() has not returned
  crawl::crawl_stats stats;  // the last stats taken (final once run() returned)
  // An interrupted crawl that was paused when the service stopped: it comes back paused.
  bool resume_paused = false;
  // Why it ended (set once it has, and for an interrupted crawl), and the sentence saying so.
  std::optional<crawl::end_reason> end;
  std::string end_message;
  // The host table taken when run() returned (crawler::hosts_at_end); null before.
  json hosts_at_end;
  // Its counters over crawl time, a sample a second (GET /v1/crawls/{id}/history).
  crawl_history history;
  mutable bool history_saved = true;  // history.json holds every sample taken
};

namespace {

// Where the crawl's records are: its file, or the folder of its segments.
const std::string& output_of(const config::crawl_config& cfg) {
  return cfg.output.dir.empty() ? cfg.output.path : cfg.output.dir;
}

std::string now_rfc3339() {
  return record::rfc3339_utc(std::chrono::system_clock::now());
}

json config_json(const config::crawl_config& cfg) {
  json j = config::to_json(cfg);
  j.erase("api");  // the service's settings, not the crawl's (and it holds the token)
  return j;
}

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

// The stats object of a crawl.json back into counters, for /metrics after a restart.
crawl::crawl_stats stats_from_json(const json& j) {
  crawl::crawl_stats s;
  if (!j.is_object()) return s;
  s.pages = u64(j, "pages");
  if (auto st = j.find("status"); st != j.end() && st->is_object()) {
    const char* names[] = {"2xx", "3xx", "4xx", "5xx"};
    for (std::size_t i = 0; i < 4; ++i) s.status_classes[i] = u64(*st, names[i]);
  }
  if (auto errs = j.find("errors"); errs != j.end() && errs->is_object()) {
    for (const auto& [k, v] : errs->items()) {
      auto kind = error_kind_from_string(k);
      if (kind && v.is_number_unsigned())
        s.errors[static_cast<std::size_t>(*kind)] = v.get<std::uint64_t>();
    }
  }
  s.bytes = u64(j, "bytes");
  s.seen = u64(j, "seen");
  s.queued = u64(j, "queued");
  s.in_flight = u64(j, "in_flight");
  s.filtered = u64(j, "filtered");
  s.robots_fetches = u64(j, "robots_fetches");
  if (auto e = j.find("elapsed_s"); e != j.end() && e->is_number()) s.elapsed_s = e->get<double>();
  if (auto rc = j.find("recrawl"); rc != j.end() && rc->is_object()) {
    crawl::recrawl_counts r;

    if (auto ch = rc->find("changes"); ch != rc->end() && ch->is_object()) {
      for (std::size_t i = 0; i < r.changes.size(); ++i)
        r.changes[i] =
            u64(*ch, std::string(recrawl::change_name(static_cast<recrawl::change>(i))).c_str());
    }
    r.conditional = u64(*rc, "conditional");
    r.validators_ignored = u64(*rc, "validators_ignored");
    r.bytes_saved = u64(*rc, "bytes_saved");
    r.parses_skipped = u64(*rc, "parses_skipped");
    r.waiting = u64(*rc, "waiting");
    r.due = u64(*rc, "due");
    s.recrawl = r;
  }
  return s;
}

metrics::crawl_counters counters_of(const crawl::crawl_stats& s) {
  metrics::crawl_counters c;
  c.pages = s.pages;
  c.status_classes = s.status_classes;
  c.other_status = s.other_status;
  c.errors = s.errors;
  c.bytes = s.bytes;
  c.seen = s.seen;
  c.queued = s.queued;
  c.in_flight = s.in_flight;
  c.filtered = s.filtered;
  c.robots_fetches = s.robots_fetches;
  return c;
}

std::string describe(std::exception_ptr ex) {
  try {
    std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    return std::string("the crawl stopped on an internal error: ") + e.what();
  } catch (...) {
    return "the crawl stopped on an unknown internal error";
  }
}

// The sentence of an end reason, from the crawl's last stats and config.
std::string end_message_of(crawl::end_reason why, const crawl::crawl_stats& stats,
                           const config::crawl_config& cfg,
                           const std::optional<std::string>& error) {
  crawl::end_facts f;
  f.pages = stats.pages;
  f.queued = stats.queued;
  f.max_pages = cfg.scope.max_pages;
  f.max_pages_per_host = cfg.scope.max_pages_per_host;
  f.resumable = true;  // the service resumes its interrupted crawls
  if (crawl::is_failure(why) && error) f.detail = *error;
  return crawl::end_message(why, f);
}

// A crawl.json written before end reasons: what its state and stats say for sure.
std::optional<crawl::end_reason> inferred_end(crawl_state state, const crawl::crawl_stats& stats,
                                              const config::crawl_config& cfg) {
  if (state == crawl_state::cancelled) return crawl::end_reason::cancelled;
  if (state != crawl_state::completed) return std::nullopt;
  if (stats.queued == 0) return crawl::end_reason::frontier_empty;
  if (cfg.scope.max_pages > 0 && stats.pages >= static_cast<std::uint64_t>(cfg.scope.max_pages))
    return crawl::end_reason::max_pages;
  return std::nullopt;
}

history_sample sample_of(const crawl::crawl_stats& s) {
  history_sample h;
  h.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  h.elapsed_s = s.elapsed_s;
  h.pages = s.pages;
  h.http_errors = s.http_error_total();
  h.errors = s.error_total();
  h.bytes = s.bytes;
  h.queued = s.queued;
  h.in_flight = s.in_flight;
  return h;
}

std::string conflict_message(const std::string& id, crawl_state state, std::string_view verb) {
  return "crawl " + id + " is " + std::string(to_string(state)) + ": it cannot be " +
         std::string(verb);
}

}  // namespace

crawl_manager::crawl_manager(asio::any_io_executor ex, manager_options options)
    : ex_(std::move(ex)),
      options_(std::move(options)),
      ticker_(std::make_unique<timer_holder>(ex_)),
      sampler_(std::make_unique<timer_holder>(ex_)),
      rng_(std::random_device{}()) {}

crawl_manager::~crawl_manager() = default;

crawl_manager::entry* crawl_manager::find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::string crawl_manager::new_id() {
  // 48 random bits in 12 hex digits: short enough to type, and a folder that already exists
  // (a crawl of an earlier run) is never reused.
  static constexpr char hex[] = "0123456789abcdef";
  for (;;) {
    std::uint64_t v = rng_();
    std::string id(12, '0');
    for (char& c : id) {
      c = hex[v & 0xf];
      v >>= 4;
    }
    std::error_code ec;
    if (!find(id) && !fs::exists(options_.data_dir / id, ec)) return id;
  }
}

std::vector<std::string> crawl_manager::load_existing() {
  std::vector<std::string> warnings;
  std::error_code ec;
  fs::directory_iterator it(options_.data_dir, ec);
  if (ec) {
    warnings.push_back("cannot list " + options_.data_dir.string() + ": " + ec.message());
    return warnings;
  }
  std::vector<std::unique_ptr<entry>> found;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec)) continue;
    fs::path file = it->path() / crawl_file_name;
    if (!fs::exists(file, dir_ec)) continue;
    std::ifstream in(file);
    json doc = json::parse(in, nullptr, false);
    std::string name = it->path().filename().string();
    auto bad = [&](const std::string& why) {
      warnings.push_back(file.string() + ": " + why + "; crawl " + name + " is not listed");
    };
    if (doc.is_discarded() || !doc.is_object()) {
      bad("not a JSON object");
      continue;
    }
    auto loaded = config::from_json(doc.value("config", json::object()));
    auto state = crawl_state_from_string(doc.value("state", ""));
    if (!loaded.ok() || !state || doc.value("id", "") != name || by_id_.count(name)) {
      bad("unexpected content");
      continue;
    }
    auto e = std::make_unique<entry>();
    e->id = name;
    e->cfg = std::move(loaded.config);
    e->dir = it->path();
    e->created_at = doc.value("created_at", "");
    if (auto f = doc.find("finished_at"); f != doc.end() && f->is_string()) e->finished_at = *f;
    if (auto f = doc.find("error"); f != doc.end() && f->is_string()) e->error = *f;
    e->stats = stats_from_json(doc.value("stats", json::object()));
    e->state = *state;
    if (auto r = doc.find("end_reason"); r != doc.end() && r->is_string())
      e->end = crawl::end_reason_from_string(r->get<std::string>());
    if (auto m = doc.find("end_message"); e->end && m != doc.end() && m->is_string())
      e->end_message = *m;
    if (!e->end && is_final(e->state)) {
      e->end = inferred_end(e->state, e->stats, e->cfg);
      if (e->end) e->end_message = end_message_of(*e->end, e->stats, e->cfg, e->error);
    }
    if (auto h = doc.find("hosts"); h != doc.end() && h->is_array()) e->hosts_at_end = *h;
    {
      std::ifstream hin(it->path() / history_file_name);
      json hdoc = json::parse(hin, nullptr, false);
      if (auto h = crawl_history::from_json(hdoc)) e->history = std::move(*h);
    }
    if (e->state == crawl_state::running || e->state == crawl_state::paused) {
      // The service stopped (or died) under it. resume_interrupted() picks these up; their
      // crawl.json keeps saying running/paused until then, so a later start still knows.
      e->resume_paused = e->state == crawl_state::paused;
      e->state = crawl_state::interrupted;
      e->end = crawl::end_reason::service_stopped;
      e->end_message = end_message_of(*e->end, e->stats, e->cfg, e->error);
    }
    found.push_back(std::move(e));
  }
  if (ec) warnings.push_back("cannot list " + options_.data_dir.string() + ": " + ec.message());
  // RFC 3339 UTC strings of one format sort in time order.
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a->created_at < b->created_at; });
  for (auto& e : found) {
    by_id_[e->id] = e.get();
    entries_.push_back(std::move(e));
  }
  return warnings;
}

std::size_t crawl_manager::resume_interrupted() {
  std::size_t n = 0;
  for (auto& e : entries_) {
    if (e->state != crawl_state::interrupted) continue;
    // A crawl paused when the service stopped comes back paused: its state is loaded, its
    // output open, and nothing is fetched until it is resumed.
    if (auto err = start_crawl(*e, /*append=*/true, e->resume_paused)) {
      log::warn("cannot resume crawl " + e->id + ": " + err->key + ": " + err->message);
      continue;
    }
    e->state = e->resume_paused ? crawl_state::paused : crawl_state::running;
    e->resume_paused = false;
    e->end.reset();
    e->end_message.clear();
    e->hosts_at_end = nullptr;
    save(*e);
    ++n;
  }
  return n;
}

void crawl_manager::start() {
  tick();
  sample();
}

void crawl_manager::sample() {
  sampler_->timer.expires_after(options_.sample_interval);
  sampler_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    const auto now = std::chrono::steady_clock::now();
    const bool persist = now - last_history_save_ >= options_.history_save_interval;
    for (auto& e : entries_) {
      if (!e->live) continue;
      e->history.add(sample_of(e->crawler->stats()));
      e->history_saved = false;
      if (persist) save_history(*e);
    }
    if (persist) last_history_save_ = now;
    sample();
  });
}

void crawl_manager::tick() {
  ticker_->timer.expires_after(options_.flush_interval);
  ticker_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    for (auto& e : entries_) checkpoint(*e);
    tick();
  });
}

void crawl_manager::checkpoint(entry& e) {
  if (!e.live || !e.output) return;
  if (!e.output->checkpoint() && !e.error) {
    // Nothing more can be recorded: stop fetching pages whose records would be lost.
    e.error = "cannot write records: " + e.output->sink_error();
    log::error("crawl " + e.id + ": " + *e.error);
    e.crawler->stop_now(crawl::end_reason::output_failed);
  }
}

state::crawl_state* crawl_manager::state_of(const entry& e,
                                            std::unique_ptr<state::crawl_state>& opened,
                                            std::string& error) const {
  if (e.output && e.output->state()) return e.output->state();
  if (e.live || e.cfg.state.dir.empty() ||
      !fs::exists(fs::path(e.cfg.state.dir) / "state.sqlite3")) {
    return nullptr;
  }
  opened = state::crawl_state::open(e.cfg.state.dir, error);
  return opened.get();
}

std::vector<std::string> crawl_manager::outputs_of(const entry& e,
                                                   const state::crawl_state* st) const {
  std::vector<std::string> files;
  if (st) files = explain::state_outputs(*st);
  if (files.empty()) {
    // No state (cluster mode): the crawl's own output.
    const std::string& out = output_of(e.cfg);
    std::error_code ec;
    if (fs::is_directory(out, ec)) {
      std::string why;
      std::size_t open_parts = 0;
      auto listed = sink::output_files(out, why, open_parts);
      if (why.empty()) files = std::move(listed);
    } else if (fs::is_regular_file(out, ec)) {
      files.push_back(out);
    }
  }
  return files;
}

explain_result crawl_manager::explain(std::string_view id, const std::string& url) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, {}, ""};
  auto ev = explain::evidence_for(url);
  ev.config = e->cfg;
  // The records held for the next checkpoint reach the file first, so the answer sees them.
  checkpoint(*e);
  std::unique_ptr<state::crawl_state> opened;
  std::string why;
  state::crawl_state* st = state_of(*e, opened, why);
  if (!why.empty()) return {change_outcome::ok, {}, "cannot read the crawl's state: " + why};
  if (st) explain::read_state(*st, ev);
  const std::vector<std::string> files = outputs_of(*e, st);
  if (e->live && !ev.url.empty()) ev.live = e->crawler->live_view(ev.url);
  if (!explain::read_outputs(files, ev, why)) {
    return {change_outcome::ok, {}, "cannot read the crawl's records: " + why};
  }
  return {change_outcome::ok, explain::explain(ev).json, ""};
}

broken_links_result crawl_manager::broken_links(std::string_view id) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, {}, ""};
  // As for explain: the records held for the next checkpoint reach the file first.
  checkpoint(*e);
  std::unique_ptr<state::crawl_state> opened;
  std::string why;
  state::crawl_state* st = state_of(*e, opened, why);
  if (!why.empty()) return {change_outcome::ok, {}, "cannot read the crawl's state: " + why};
  report::broken_links table;
  if (const auto error = report::read_broken_links(outputs_of(*e, st), table); !error.empty()) {
    return {change_outcome::ok, {}, "cannot read the crawl's records: " + error};
  }
  const auto rows = table.rows();
  json listed = json::array();
  for (std::size_t i = 0; i < rows.size() && i < report::broken_links_shown; ++i)
    listed.push_back(report::to_json(rows[i]));
  return {change_outcome::ok,
          {{"id", e->id},
           {"listed", rows.size()},
           {"not_listed_records", table.unlisted()},
           {"broken_links", std::move(listed)}},
          ""};
}

report_result crawl_manager::report(std::string_view id) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, "", ""};
  // As for explain: the records held for the next checkpoint reach the file first.
  checkpoint(*e);
  std::unique_ptr<state::crawl_state> opened;
  std::string why;
  state::crawl_state* st = state_of(*e, opened, why);
  if (!why.empty()) return {change_outcome::ok, "", "cannot read the crawl's state: " + why};
  const std::vector<std::string> files = outputs_of(*e, st);
  // As `trawler report` reads them: every line once, then the 4xx/5xx URLs' linking pages.
  report::crawl_report r;
  for (const auto& f : files) {
    const auto read = sink::for_each_line(f, [&r](std::string_view line) { r.add_line(line); });
    if (!read.error.empty()) {
      return {change_outcome::ok, "", "cannot read the crawl's records: " + read.error};
    }
  }
  if (const auto error = report::read_links(files, r.broken_links()); !error.empty()) {
    return {change_outcome::ok, "", "cannot read the crawl's records: " + error};
  }
  return {change_outcome::ok, report::render_html(r, {output_of(e->cfg)}), ""};
}

records_result crawl_manager::records(std::string_view id) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, "", ""};
  if (!e->cfg.output.dir.empty()) {
    return {change_outcome::conflict, "",
            "crawl " + e->id + " writes its records in rotated segments in " + e->cfg.output.dir +
                ": read them there (trawler report and explain take the folder)"};
  }
  // The records held for the next checkpoint reach the file first; the response sends the
  // file as long as it is then (whole lines: a checkpoint writes whole records).
  checkpoint(*e);
  std::error_code ec;
  if (!fs::is_regular_file(e->cfg.output.path, ec)) {
    return {change_outcome::conflict, "",
            "crawl " + e->id + " has no records file at " + e->cfg.output.path};
  }
  return {change_outcome::ok, e->cfg.output.path, ""};
}

std::optional<api_error> crawl_manager::start_crawl(entry& e, bool append, bool paused) {
  crawl::crawl_output::open_error open_error;
  auto output = crawl::crawl_output::open(e.cfg, append, open_error);
  if (!output) return api_error{open_error.key, open_error.message};
  e.output = std::move(output);
  e.crawler = std::make_unique<crawl::crawler>(ex_, e.cfg, e.output->writer());
  // A crawl resumed after a restart goes on from its state: nothing recorded is fetched again.
  e.output->attach(*e.crawler);

  std::optional<api_error> refused;
  for (std::size_t i = 0; i < e.cfg.seeds.size() && !refused; ++i) {
    auto problems = e.crawler->admit_seeds({e.cfg.seeds[i]});
    for (const auto& p : problems) {
      // Like `trawler crawl`: an unparsable seed refuses the crawl; one over
      // max_url_length is only counted as filtered.
      if (p.find("not an http(s) URL") != std::string::npos) {
        refused = api_error{"seeds[" + std::to_string(i) + "]", p};
      }
    }
  }
  // A cluster crawl posted without seeds joins one that other workers seeded.
  const bool joins = !e.cfg.cluster.redis.empty() && e.cfg.seeds.empty();
  if (!refused && e.crawler->admitted_seeds() == 0 && !joins) {
    refused = api_error{"seeds", "no usable seed (each is longer than scope.max_url_length)"};
  }
  if (refused) {
    e.crawler.reset();
    e.output.reset();
    return refused;
  }

  if (!e.cfg.cluster.redis.empty()) log::info("crawl " + e.id + " joins " + e.crawler->sharing());
  e.live = true;
  // Before run() starts, so not one request goes out.
  if (paused) e.crawler->pause();
  std::string id = e.id;
  asio::co_spawn(ex_, e.crawler->run(), [this, id](std::exception_ptr ex) { on_run_end(id, ex); });
  return std::nullopt;
}

create_result crawl_manager::create(config::crawl_config cfg) {
  create_result result;
  if (shutting_down_) {
    result.status = 503;
    result.error = api_error{"", "the service is shutting down"};
    return result;
  }
  auto e = std::make_unique<entry>();
  e->id = new_id();
  e->dir = options_.data_dir / e->id;
  e->cfg = std::move(cfg);
  place_in_crawl_dir(e->cfg, e->dir);
  e->created_at = now_rfc3339();

  std::error_code ec;
  fs::create_directories(e->dir, ec);
  if (!ec && e->cfg.output.dir.empty()) {
    fs::create_directories(fs::path(e->cfg.output.path).parent_path(), ec);
  }
  if (ec) {
    result.status = 500;
    result.error =
        api_error{"api.data_dir", "cannot create " + e->dir.string() + ": " + ec.message()};
    fs::remove_all(e->dir, ec);
    return result;
  }
  if (auto err = start_crawl(*e, /*append=*/false)) {
    // A seed is the client's fault; a file that cannot be opened is the service's.
    result.status = err->key.rfind("output.", 0) == 0 ? 500 : 400;
    result.error = std::move(err);
    fs::remove_all(e->dir, ec);
    return result;
  }
  result.id = e->id;
  // Its history starts at crawl time 0 with nothing counted, so the charts start there.
  history_sample origin = sample_of(crawl::crawl_stats{});
  origin.queued = e->crawler->stats().queued;
  e->history.add(origin);
  e->history_saved = false;
  save(*e);
  log::info("crawl " + e->id + " started, writing " + output_of(e->cfg));
  by_id_[e->id] = e.get();
  entries_.push_back(std::move(e));
  return result;
}

void crawl_manager::on_run_end(const std::string& id, std::exception_ptr ex) {
  entry* e = find(id);
  if (!e) return;
  e->live = false;
  e->stats = e->crawler->stats();
  // Why it ended: the crawler's own reason (the frontier, a budget, a stop's), unless it failed.
  crawl::end_reason why = e->crawler->ended_because().value_or(crawl::end_reason::stopped);
  if (const auto& lost = e->crawler->fleet_failure(); !lost.empty() && !e->error) {
    e->error = "cluster: " + lost;
    why = crawl::end_reason::redis_unreachable;
  }
  if (e->output && !e->output->finish(e->crawler->completed()) && !e->error) {
    e->error = "cannot write records: " + e->output->sink_error();
    why = crawl::end_reason::output_failed;
  }
  e->output.reset();  // closes the file and the state: every record is in it
  if (ex && !e->error) {
    e->error = describe(ex);
    why = crawl::end_reason::internal_error;
  }
  if (e->error && !crawl::is_failure(why)) why = crawl::end_reason::output_failed;
  bool interrupted_by_shutdown =
      shutting_down_ && !e->error &&
      (e->state == crawl_state::running || e->state == crawl_state::paused);
  if (interrupted_by_shutdown) {
    why = crawl::end_reason::service_stopped;
  } else {
    if (e->error) {
      e->state = crawl_state::failed;
    } else if (e->state != crawl_state::cancelled) {
      e->state = crawl_state::completed;
    } else {
      why = crawl::end_reason::cancelled;
    }
    e->finished_at = now_rfc3339();
  }
  e->end = why;
  e->end_message = end_message_of(why, e->stats, e->cfg, e->error);
  // The host table as it was at the end: what is left, and where.
  e->hosts_at_end = e->crawler->hosts_at_end(hosts_listed);
  e->history.add(sample_of(e->stats));
  save(*e);
  if (interrupted_by_shutdown) {
    log::info("crawl " + id + " stopped with the service, unfinished");
  } else {
    log::info("crawl " + id + " " + std::string(to_string(e->state)));
  }
  // The crawler goes once this handler is done with it (its coroutines have all returned,
  // run() only returns when none is open); the post keeps destruction out of the
  // completion's call stack.
  if (ex) {
    // run() threw: its fetch coroutines may still be alive and hold the crawler, so it is
    // stopped and kept until the manager goes, after the I/O loop has ended.
    e->crawler->stop_now();
    asio::post(ex_, [this] { check_idle(); });
    return;
  }
  asio::post(ex_, [this, id] {
    if (entry* done = find(id)) done->crawler.reset();
    check_idle();
  });
}

void crawl_manager::check_idle() {
  if (!shutting_down_ || !on_idle_) return;
  for (const auto& e : entries_) {
    if (e->live) return;
  }
  auto done = std::move(on_idle_);
  on_idle_ = nullptr;
  done();
}

void crawl_manager::shutdown(std::function<void()> on_idle) {
  if (!shutting_down_) {
    shutting_down_ = true;
    ticker_->timer.cancel();
    sampler_->timer.cancel();
    on_idle_ = std::move(on_idle);
    for (auto& e : entries_) {
      if (e->live) e->crawler->stop(options_.stop_grace, crawl::end_reason::service_stopped);
    }
  }
  asio::post(ex_, [this] { check_idle(); });
}

void crawl_manager::shutdown_now() {
  for (auto& e : entries_) {
    if (e->live) e->crawler->stop_now(crawl::end_reason::service_stopped);
  }
}

void crawl_manager::save(const entry& e) const {
  // An interrupted crawl is saved as it was, so the next start resumes it the same way.
  crawl_state state = e.state;
  if (state == crawl_state::interrupted) {
    state = e.resume_paused ? crawl_state::paused : crawl_state::running;
  }
  json doc = {{"id", e.id},
              {"state", to_string(state)},
              {"created_at", e.created_at},
              {"output", output_of(e.cfg)},
              {"config", config_json(e.cfg)},
              {"stats", (e.live ? e.crawler->stats() : e.stats).to_json()}};
  if (e.finished_at) doc["finished_at"] = *e.finished_at;
  if (e.error) doc["error"] = *e.error;
  // An interrupted crawl's reason is this run's view of it, not saved: it is running or paused.
  if (e.end && is_final(e.state)) {
    doc["end_reason"] = std::string(crawl::to_string(*e.end));
    doc["end_message"] = e.end_message;
  }
  if (e.hosts_at_end.is_array()) doc["hosts"] = e.hosts_at_end;
  // Write then rename, so a crash leaves the old file or the new one, never half of one.
  fs::path file = e.dir / crawl_file_name;
  fs::path tmp = e.dir / (std::string(crawl_file_name) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    if (!out) {
      log::warn("cannot write " + tmp.string());
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) log::warn("cannot write " + file.string() + ": " + ec.message());
  save_history(e);
}

void crawl_manager::save_history(const entry& e) const {
  if (e.history_saved) return;
  fs::path file = e.dir / history_file_name;
  fs::path tmp = e.dir / (std::string(history_file_name) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << e.history.to_json().dump() << "\n";
    if (!out) {
      log::warn("cannot write " + tmp.string());
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    log::warn("cannot write " + file.string() + ": " + ec.message());
    return;
  }
  e.history_saved = true;
}

crawl_view crawl_manager::view_of(const entry& e) const {
  crawl_view v;
  v.id = e.id;
  v.state = e.state;
  v.stats = (e.live ? e.crawler->stats() : e.stats).to_json();
  v.config = config_json(e.cfg);
  v.output = output_of(e.cfg);
  v.created_at = e.created_at;
  v.finished_at = e.finished_at;
  v.error = e.error;
  if (e.end && (is_final(e.state) || e.state == crawl_state::interrupted)) {
    v.end_reason = std::string(crawl::to_string(*e.end));
    v.end_message = e.end_message;
  }
  return v;
}

std::vector<crawl_view> crawl_manager::list() const {
  std::vector<crawl_view> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(view_of(*e));
  return out;
}

std::optional<crawl_view> crawl_manager::get(std::string_view id) const {
  entry* e = find(id);
  if (!e) return std::nullopt;
  crawl_view v = view_of(*e);
  // The dashboard's host table: the 50 hosts with the most work left; once it has ended, the
  // table taken then.
  if (e->live) {
    v.hosts = e->crawler->busiest_hosts(hosts_listed);
  } else {
    v.hosts = e->hosts_at_end;
  }
  return v;
}

std::optional<json> crawl_manager::history(std::string_view id,
                                           std::optional<double> last_s) const {
  entry* e = find(id);
  if (!e) return std::nullopt;
  json j = e->history.to_json(last_s);
  j["id"] = e->id;
  return j;
}

change_result crawl_manager::pause(std::string_view id) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, crawl_state::failed, ""};
  auto next = e->live ? next_state(e->state, crawl_action::pause) : std::nullopt;
  if (!next)
    return {change_outcome::conflict, e->state, conflict_message(e->id, e->state, "paused")};
  if (e->state != *next) {
    e->crawler->pause();
    e->state = *next;
    save(*e);
  }
  return {change_outcome::ok, e->state, ""};
}

change_result crawl_manager::resume(std::string_view id) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, crawl_state::failed, ""};
  auto next = e->live ? next_state(e->state, crawl_action::resume) : std::nullopt;
  if (!next) {
    return {change_outcome::conflict, e->state, conflict_message(e->id, e->state, "resumed")};
  }
  if (e->state != *next) {
    e->crawler->resume();
    e->state = *next;
    save(*e);
  }
  return {change_outcome::ok, e->state, ""};
}

change_result crawl_manager::cancel(std::string_view id) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, crawl_state::failed, ""};
  auto next = next_state(e->state, crawl_action::cancel);
  if (!next ||
      (!e->live && e->state != crawl_state::interrupted && e->state != crawl_state::cancelled)) {
    return {change_outcome::conflict, e->state, conflict_message(e->id, e->state, "cancelled")};
  }
  if (e->state != *next) {
    bool was_interrupted = e->state == crawl_state::interrupted;
    e->state = *next;
    if (e->live) {
      // Open requests get the grace period; the crawl is final when run() returns.
      e->crawler->stop(options_.stop_grace, crawl::end_reason::cancelled);
    } else if (was_interrupted) {
      e->finished_at = now_rfc3339();
      e->end = crawl::end_reason::cancelled;
      e->end_message = end_message_of(*e->end, e->stats, e->cfg, e->error);
    }
    save(*e);
  }
  return {change_outcome::ok, e->state, ""};
}

remove_result crawl_manager::remove(std::string_view id, bool delete_files) {
  entry* e = find(id);
  if (!e) return {change_outcome::not_found, "", "", false};
  if (e->live || !is_final(e->state)) {
    return {change_outcome::conflict,
            "crawl " + e->id + " is " + std::string(to_string(e->state)) +
                (e->live && e->state == crawl_state::cancelled
                     ? ": it is still stopping, delete it once it has"
                     : ": cancel it first, then delete it"),
            "", false};
  }
  std::error_code ec;
  if (delete_files) {
    fs::remove_all(e->dir, ec);
    if (ec)
      return {change_outcome::ok, "", "cannot delete " + e->dir.string() + ": " + ec.message(),
              false};
  } else {
    // Without crawl.json a restarted service does not list the folder; the files stay.
    fs::rename(e->dir / crawl_file_name, e->dir / removed_crawl_file_name, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return {change_outcome::ok, "",
              "cannot rename " + (e->dir / crawl_file_name).string() + ": " + ec.message(), false};
    }
  }
  log::info("crawl " + e->id + " deleted" +
            (delete_files ? " with its files" : ", its files kept in " + e->dir.string()));
  const auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const auto& p) { return p.get() == e; });
  by_id_.erase(e->id);
  if (e->crawler) removed_.push_back(std::move(*it));
  entries_.erase(it);
  return {change_outcome::ok, "", "", delete_files};
}

seeds_result crawl_manager::add_seeds(std::string_view id, const std::vector<std::string>& urls) {
  seeds_result r;
  entry* e = find(id);
  if (!e) {
    r.outcome = change_outcome::not_found;
    return r;
  }
  r.state = e->state;
  if (!e->live || !next_state(e->state, crawl_action::add_seeds)) {
    r.outcome = change_outcome::conflict;
    r.message = conflict_message(e->id, e->state, "given seeds");
    return r;
  }
  for (std::size_t i = 0; i < urls.size(); ++i) {
    // One at a time, so each problem maps to its index.
    auto problems = e->crawler->admit_seeds({urls[i]});
    if (problems.empty()) {
      ++r.accepted;
      e->cfg.seeds.push_back(urls[i]);  // saved: a resumed crawl knows all its seeds
    } else {
      r.rejected.push_back(api_error{"urls[" + std::to_string(i) + "]", problems.front()});
    }
  }
  if (r.accepted > 0) save(*e);
  return r;
}

std::string crawl_manager::metrics_text() const {
  std::vector<metrics::crawl_snapshot> snaps;
  snaps.reserve(entries_.size());
  for (const auto& e : entries_) {
    metrics::crawl_snapshot s;
    s.id = e->id;
    s.state = std::string(to_string(e->state));
    crawl::crawl_stats stats = e->live ? e->crawler->stats() : e->stats;
    s.counters = counters_of(stats);
    s.fetch_duration = stats.fetch_duration;
    s.fleet = stats.cluster;
    if (stats.recrawl) {
      const auto& r = *stats.recrawl;
      metrics::recrawl_gauges g;
      g.changes = r.changes;
      g.conditional = r.conditional;
      g.validators_ignored = r.validators_ignored;
      g.bytes_saved = r.bytes_saved;
      g.parses_skipped = r.parses_skipped;
      g.waiting = r.waiting;
      g.due = r.due;
      g.lag_counts = r.lag_counts;
      g.lag_sum_s = r.lag_sum_s;
      s.recrawl = g;
    }
    snaps.push_back(std::move(s));
  }
  return metrics::render_prometheus(snaps);
}

}  // namespace trawler::api
