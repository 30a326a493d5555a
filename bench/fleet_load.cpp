// The fleet's frontier under load, without HTTP or parsing: N simulated workers (coroutines in
// this process, each with its own Redis connections, as separate processes would have) run the
// real cluster frontier (redis_frontier) against one Redis or a Redis Cluster, on a synthetic
// web of many hosts of Zipf sizes (about 35 links a page, a third of them to other hosts);
// a fetch is a timer. Prints, per run: pages, pages/s per worker, client commands and bytes per
// page, Redis CPU per page summed over the masters (INFO cpu deltas) and the busiest master's
// share against the mean.
//
//   trawler-bench-fleet-load REDIS_URLS [--workers N] [--pages N] [--hosts N] [--fetch-ms N]
//                            [--concurrency N] [--per-host N] [--buckets N] [--seed N]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cluster/redis_frontier.hpp"
#include "common/hash_mix.hpp"
#include "redis/cluster_client.hpp"

namespace asio = boost::asio;
using namespace trawler;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct options {
  std::string redis;
  int workers = 4;
  long pages = 20000;
  int hosts = 2000;
  int fetch_ms = 50;
  int concurrency = 8;
  int per_host = 2;
  int buckets = 1024;
  std::uint64_t seed = 1;
};

// Hosts h0..h{n-1} with Zipf-distributed page counts (s = 1): a few big sites, many small.
struct synthetic_web {
  std::vector<int> size;
  std::vector<double> cumulative;  // for choosing a host by its size
  explicit synthetic_web(int hosts, long total) {
    double norm = 0;
    for (int h = 1; h <= hosts; ++h) norm += 1.0 / h;
    for (int h = 1; h <= hosts; ++h) {
      size.push_back(std::max(1, static_cast<int>(std::lround(total * 2.0 / h / norm))));
    }
    double c = 0;
    for (int s : size) cumulative.push_back(c += s);
  }
  static std::string host_key(int h) { return "http://h" + std::to_string(h) + ".sim:80"; }
  static std::string url(int h, int p) {
    return "http://h" + std::to_string(h) + ".sim/p" + std::to_string(p);
  }
  // The links of page p of host h: deterministic.
  std::vector<std::pair<int, int>> links(int h, int p) const {
    std::vector<std::pair<int, int>> out;
    std::uint64_t x = mix64((static_cast<std::uint64_t>(h) << 32) ^ static_cast<std::uint64_t>(p));
    for (int i = 0; i < 35; ++i) {
      x = mix64(x + 0x9e3779b97f4a7c15ULL);
      if (i < 12) {
        // Navigation: the same few pages on every page of the site.
        out.push_back({h, i % std::max(1, std::min(size[h], 12))});
      } else if (i < 24) {
        out.push_back({h, static_cast<int>(x % static_cast<std::uint64_t>(size[h]))});
      } else {
        const double r = static_cast<double>(x >> 11) / 9007199254740992.0 * cumulative.back();
        const int other = static_cast<int>(
            std::lower_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
        const int o = std::min(other, static_cast<int>(size.size()) - 1);
        out.push_back({o, static_cast<int>(mix64(x) % static_cast<std::uint64_t>(size[o]))});
      }
    }
    return out;
  }
};

class sim_worker final : public frontier::frontier_owner {
 public:
  sim_worker(asio::io_context& io, const options& o, const synthetic_web& web, int id)
      : io_(io), opt_(o), web_(web), timer_(io) {
    cluster::fleet_settings fs;
    fs.redis = redis::parse_urls(o.redis).values;
    fs.crawl_name = "load";
    fs.worker = "sim-" + std::to_string(id);
    fs.per_host = o.per_host;
    fs.concurrency = o.concurrency;
    fs.max_pages = o.pages;
    fs.buckets = o.buckets;
    frontier::options fo{o.per_host, milliseconds(0), false};
    front_ = std::make_unique<cluster::redis_frontier>(io.get_executor(), fo, *this, fs);
  }

  void seed(int h) {
    frontier::admitted_url u;
    u.url = synthetic_web::url(h, 0);
    u.host_key = synthetic_web::host_key(h);
    u.redirects_left = 5;
    front_->schedule().mark_seen(u.url);
    front_->seed(std::move(u));
  }

  asio::awaitable<void> run() {
    asio::co_spawn(io_, front_->run(), asio::detached);
    for (;;) {
      if (auto end = front_->ended()) break;
      if (!failure_.empty()) break;
      const auto now = steady::now();
      while (open_ < opt_.concurrency && front_->page_budget_left()) {
        auto l = front_->schedule().next_ready(now);
        if (!l) break;
        ++open_;
        front_->page_started();
        asio::co_spawn(io_, page(std::move(*l)), asio::detached);
      }
      timer_.expires_after(milliseconds(20));
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    front_->dispatcher_done();
    // Let the frontier hand back and close.
    asio::steady_timer t(io_, milliseconds(200));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  long pages() const { return pages_; }
  redis::cluster_counts counts() const { return front_->redis_counts(); }
  const std::string& failure() const { return failure_; }

  // frontier_owner
  void enqueue(frontier::url_entry e) override { front_->schedule().push(std::move(e)); }
  void revisit(frontier::url_entry e, std::string) override {
    front_->schedule().push_revisit(std::move(e), std::chrono::steady_clock::now());
  }
  void revisit_dropped(const std::string&) override {}
  void wake() override { timer_.cancel(); }
  bool busy() const override { return open_ > 0; }
  bool stopping() const override { return false; }
  bool paused() const override { return false; }
  void learn_robots(frontier::host_id, const frontier::robots_verdict&) override {}
  void learn_seed_host(const std::string&) override {}
  bool flush_output() override { return true; }
  void fail(const std::string& why) override { failure_ = why; }

 private:
  asio::awaitable<void> page(frontier::lease l) {
    asio::steady_timer t(io_, milliseconds(opt_.fetch_ms));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    front_->schedule().finish(l.host);
    // As the crawler does: the request slot is free once the response is in, while its page
    // is parsed and its links settle.
    front_->page_ended(true);
    --open_;
    wake();
    // The page's host and number from its URL: http://hH.sim/pP.
    const auto& u = l.entry.url;
    const int h = std::atoi(u.c_str() + 8);
    const int p = std::atoi(u.c_str() + u.rfind("/p") + 2);
    for (const auto& [lh, lp] : web_.links(h, p)) {
      auto link = synthetic_web::url(lh, lp);
      if (!front_->schedule().mark_seen(link)) continue;
      frontier::admitted_url a;
      a.url = std::move(link);
      a.host_key = synthetic_web::host_key(lh);
      a.depth = l.entry.depth + 1;
      a.redirects_left = 5;
      front_->admit(std::move(a));
    }
    co_await front_->settle();
    front_->recorded(u);
    ++pages_;
  }

  asio::io_context& io_;
  const options& opt_;
  const synthetic_web& web_;
  std::unique_ptr<cluster::redis_frontier> front_;
  asio::steady_timer timer_;
  int open_ = 0;
  long pages_ = 0;
  std::string failure_;
};

// INFO of every master: used CPU (user + sys, seconds) and the commands Redis counted.
struct shard_use {
  std::string address;
  double cpu = 0;
  long long commands = 0;
};

double info_value(const std::string& info, const std::string& key) {
  const auto at = info.find(key + ":");
  if (at == std::string::npos) return 0;
  return std::atof(info.c_str() + at + key.size() + 1);
}

asio::awaitable<std::vector<shard_use>> shards(redis::cluster_client& c) {
  co_await c.refresh();
  std::vector<shard_use> out;
  for (std::size_t i = 0; i < c.masters(); ++i) {
    std::vector<redis::command> cmds;
    cmds.push_back({"INFO", "cpu"});
    cmds.push_back({"INFO", "stats"});
    auto r = co_await c.exec_on_master(i, std::move(cmds));
    shard_use s;
    s.address = c.master_address(i);
    if (r.ok() && r.replies.size() == 2) {
      s.cpu = info_value(r.replies[0].str, "used_cpu_user") +
              info_value(r.replies[0].str, "used_cpu_sys");
      s.commands = static_cast<long long>(info_value(r.replies[1].str, "total_commands_processed"));
    }
    out.push_back(s);
  }
  co_return out;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (argc < 2) {
    std::cerr << "usage: trawler-bench-fleet-load REDIS_URLS [--workers N] [--pages N] [--hosts N]"
                 " [--fetch-ms N] [--concurrency N] [--per-host N] [--buckets N]\n";
    return 2;
  }
  o.redis = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const long v = std::atol(argv[i + 1]);
    if (k == "--workers")
      o.workers = static_cast<int>(v);
    else if (k == "--pages")
      o.pages = v;
    else if (k == "--hosts")
      o.hosts = static_cast<int>(v);
    else if (k == "--fetch-ms")
      o.fetch_ms = static_cast<int>(v);
    else if (k == "--concurrency")
      o.concurrency = static_cast<int>(v);
    else if (k == "--per-host")
      o.per_host = static_cast<int>(v);
    else if (k == "--buckets")
      o.buckets = static_cast<int>(v);
    else if (k == "--seed")
      o.seed = static_cast<std::uint64_t>(v);
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (redis::parse_urls(o.redis).values.empty()) {
    std::cerr << "bad Redis URL: " << redis::parse_urls(o.redis).error << "\n";
    return 2;
  }
  asio::io_context io;
  redis::cluster_client admin(io.get_executor(), redis::parse_urls(o.redis).values);
  std::vector<shard_use> before, after;
  // A fresh crawl: the keys of an earlier run go (every master).
  auto prepare = [&]() -> asio::awaitable<void> {
    co_await admin.refresh();
    for (std::size_t i = 0; i < admin.masters(); ++i) {
      std::vector<redis::command> f;
      f.push_back({"FLUSHALL"});
      co_await admin.exec_on_master(i, std::move(f));
    }
    before = co_await shards(admin);
  };
  // Connections keep read loops waiting on `io`: each phase stops it when done.
  asio::co_spawn(io, prepare(), [&](std::exception_ptr) { io.stop(); });
  io.run();
  io.restart();

  // Enough of the web that the budget ends the crawl, not the web.
  const synthetic_web web(o.hosts, o.pages * 3);
  std::vector<std::unique_ptr<sim_worker>> ws;
  for (int i = 0; i < o.workers; ++i) ws.push_back(std::make_unique<sim_worker>(io, o, web, i));
  // Seeds: the front pages of the 20 biggest hosts, offered by the first worker.
  for (int h = 0; h < std::min(20, o.hosts); ++h) ws[0]->seed(h);
  const auto t0 = steady::now();
  int running = o.workers;
  for (auto& w : ws) {
    asio::co_spawn(io, w->run(), [&](std::exception_ptr) {
      if (--running == 0) io.stop();
    });
  }
  io.run();
  const double seconds = std::chrono::duration<double>(steady::now() - t0).count();
  io.restart();
  auto measure = [&]() -> asio::awaitable<void> {
    after = co_await shards(admin);
    admin.close();
  };
  asio::co_spawn(io, measure(), [&](std::exception_ptr) { io.stop(); });
  io.run();

  long pages = 0;
  double sent = 0, bytes = 0, trips = 0;
  for (const auto& w : ws) {
    pages += w->pages();
    sent += static_cast<double>(w->counts().commands);
    trips += static_cast<double>(w->counts().round_trips);
    bytes += static_cast<double>(w->counts().bytes_sent + w->counts().bytes_received);
    if (!w->failure().empty()) std::cerr << "worker failed: " << w->failure() << "\n";
  }
  double cpu = 0, most = 0;
  long long commands = 0;
  for (std::size_t i = 0; i < after.size() && i < before.size(); ++i) {
    const double d = after[i].cpu - before[i].cpu;
    cpu += d;
    most = std::max(most, d);
    commands += after[i].commands - before[i].commands;
  }
  const double mean = after.empty() ? 0 : cpu / static_cast<double>(after.size());
  std::printf(
      "{\"workers\":%d,\"masters\":%zu,\"pages\":%ld,\"seconds\":%.2f,\"pages_per_s\":%.1f,"
      "\"pages_per_s_per_worker\":%.2f,\"commands_per_page\":%.2f,\"round_trips_per_page\":%.2f,"
      "\"bytes_per_page\":%.0f,\"redis_commands_per_page\":%.2f,"
      "\"redis_cpu_us_per_page\":%.1f,\"busiest_master_vs_mean\":%.2f}\n",
      o.workers, after.size(), pages, seconds, pages / seconds, pages / seconds / o.workers,
      sent / static_cast<double>(std::max(1L, pages)),
      trips / static_cast<double>(std::max(1L, pages)),
      bytes / static_cast<double>(std::max(1L, pages)),
      static_cast<double>(commands) / static_cast<double>(std::max(1L, pages)),
      cpu * 1e6 / static_cast<double>(std::max(1L, pages)), mean > 0 ? most / mean : 0.0);
  return pages > 0 ? 0 : 1;
}
