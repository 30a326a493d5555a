// Redis memory per seen, per queued and per visited URL in cluster mode: admits N synthetic
// URLs (spread over H hosts, as a crawl's links are) through the cluster scripts into a fresh
// crawl name, reads used_memory, drops the host queues and reads it again, then keeps a visit
// of every URL (recrawl continuous: its row in the host's visit hash, its next visit in the
// host's revisit set and the host in its bucket's due set) and reads it once more.
//   trawler-bench-redis-memory REDIS_URL [N] [HOSTS]
// Prints JSON: bytes per seen URL (the seen set alone), bytes per queued URL (its entry in a
// host queue), bytes per visited URL (what recrawl adds), the row's encoded size, and the
// URLs' mean length.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "cluster/shared_frontier.hpp"
#include "recrawl/visit.hpp"
#include "redis/cluster_client.hpp"

namespace asio = boost::asio;

namespace {

long long used_memory(const trawler::redis::reply& info) {
  const auto at = info.str.find("used_memory:");
  if (at == std::string::npos) return -1;
  return std::atoll(info.str.c_str() + at + 12);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: trawler-bench-redis-memory REDIS_URL [N] [HOSTS]\n";
    return 2;
  }
  auto ep = trawler::redis::parse_url(argv[1]);
  if (!ep.value) {
    std::cerr << "bad Redis URL: " << ep.error << "\n";
    return 2;
  }
  const long n = argc > 2 ? std::atol(argv[2]) : 1000000;
  const long hosts = argc > 3 ? std::atol(argv[3]) : 1000;
  asio::io_context io;
  trawler::redis::cluster_client redis(io.get_executor(), {*ep.value});
  trawler::cluster::shared_frontier front(redis, "memory-bench", "bench");
  int status = 0;
  // One Redis: INFO memory of its one node (a cluster's would be summed per master).
  auto node = [&](std::vector<trawler::redis::command> cmds) {
    return redis.exec_on_master(0, std::move(cmds));
  };
  auto job = [&]() -> asio::awaitable<void> {
    co_await redis.refresh();
    std::vector<trawler::redis::command> flush = {{"FLUSHDB"}, {"INFO", "memory"}};
    auto before = co_await node(std::move(flush));
    if (!before.ok()) {
      std::cerr << before.message << "\n";
      status = 1;
      co_return;
    }
    const long long m0 = used_memory(before.replies[1]);
    double url_bytes = 0;
    for (long i = 0; i < n;) {
      std::map<int, std::vector<trawler::cluster::shared_entry>> batch;
      for (int k = 0; k < 1000 && i < n; ++k, ++i) {
        // As the crawler has them: normalized URLs (no default port), the politeness key with it.
        const std::string origin = "https://host" + std::to_string(i % hosts) + ".example";
        const std::string host = origin + ":443";
        std::string url =
            origin + "/articles/2026/12/" + std::to_string(i) + "/a-title-of-the-page";
        url_bytes += static_cast<double>(url.size());
        batch[front.bucket_of(host)].push_back(
            trawler::cluster::make_entry(std::move(url), host, 3, 10, false, origin + "/index"));
      }
      auto r = co_await front.admit({batch.begin(), batch.end()});
      if (!r.ok()) {
        std::cerr << r.message << "\n";
        status = 1;
        co_return;
      }
    }
    std::vector<trawler::redis::command> info = {{"INFO", "memory"}};
    auto full = co_await node(std::move(info));
    const long long m1 = used_memory(full.replies.at(0));
    // Drop the queues and ready sets: what stays is the seen set (and a few counters).
    std::vector<trawler::redis::command> drop;
    for (long h = 0; h < hosts; ++h) {
      const std::string host = "https://host" + std::to_string(h) + ".example:443";
      const auto prefix = trawler::cluster::bucket_prefix("memory-bench", front.bucket_of(host));
      drop.push_back({"DEL", prefix + "q:" + host, prefix + "ready"});
    }
    drop.push_back({"INFO", "memory"});
    auto seen_only = co_await node(std::move(drop));
    const long long m2 = used_memory(seen_only.replies.back());
    // A visit of every URL as a revisit keeps it: a page seen three times, with an ETag of 22
    // bytes, a Last-Modified, both digests, due within the next day.
    trawler::recrawl::visit_row row;
    row.last_visit = 1796000000000;
    row.next_due = row.last_visit + 86400000;
    row.interval = 86400000;
    row.last_change = row.last_visit - 3 * 86400000;
    row.last_full = row.last_visit - 86400000;
    row.visits = 3;
    row.checks = 2;
    row.changes = 1;
    row.observed = 2 * 86400000;
    row.indexed = true;
    row.body = trawler::recrawl::digest{};
    row.text = trawler::recrawl::digest{};
    for (std::uint8_t k = 0; k < 16; ++k) {
      (*row.body)[k] = static_cast<std::uint8_t>(k * 37 + 1);
      (*row.text)[k] = static_cast<std::uint8_t>(k * 53 + 7);
    }
    row.etag = "\"5f3c1a-2b7e4d9c1f0a\"";
    row.last_modified = row.last_visit - 5 * 86400000;
    row.size = 28411;
    const std::string encoded = trawler::recrawl::encode(row);
    for (long i = 0; i < n;) {
      std::map<int, std::vector<trawler::cluster::kept_visit>> batch;
      for (int k = 0; k < 1000 && i < n; ++k, ++i) {
        const std::string origin = "https://host" + std::to_string(i % hosts) + ".example";
        const std::string host = origin + ":443";
        std::string url =
            origin + "/articles/2026/12/" + std::to_string(i) + "/a-title-of-the-page";
        trawler::cluster::kept_visit v;
        v.host = host;
        v.fp = trawler::cluster::fingerprint::of(url);
        v.value = trawler::cluster::encode_visit(
            trawler::cluster::make_entry(std::move(url), host, 3, 10, false, origin + "/index"),
            encoded);
        v.due_ms = row.next_due + (i * 7919) % 86400000;
        batch[front.bucket_of(host)].push_back(std::move(v));
      }
      auto r = co_await front.record({}, {batch.begin(), batch.end()});
      if (!r.ok()) {
        std::cerr << r.message << "\n";
        status = 1;
        co_return;
      }
    }
    std::vector<trawler::redis::command> info2 = {{"INFO", "memory"}};
    auto visited = co_await node(std::move(info2));
    const long long m3 = used_memory(visited.replies.at(0));
    std::printf(
        "{\"urls\":%ld,\"hosts\":%ld,\"mean_url_bytes\":%.1f,\"bytes_per_seen_url\":%.1f,"
        "\"bytes_per_queued_url\":%.1f,\"row_bytes\":%zu,\"bytes_per_visited_url\":%.1f,"
        "\"used_memory_full\":%lld}\n",
        n, hosts, url_bytes / static_cast<double>(n),
        static_cast<double>(m2 - m0) / static_cast<double>(n),
        static_cast<double>(m1 - m2) / static_cast<double>(n), encoded.size(),
        static_cast<double>(m3 - m2) / static_cast<double>(n), m1);
    std::vector<trawler::redis::command> clean = {{"FLUSHDB"}};
    co_await node(std::move(clean));
    redis.close();
  };
  auto fut = asio::co_spawn(io, job(), asio::use_future);
  io.run();
  fut.get();
  return status;
}
