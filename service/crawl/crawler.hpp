#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/crawl_config.hpp"
#include "crawl/crawl_stats.hpp"
#include "crawl/end_reason.hpp"

// The orchestrator: seeds -> admission -> frontier -> robots gate -> fetch -> host politeness
// -> parse (on the pool) -> links admitted -> recorder. The frontier is this process's alone, or
// a fleet's on Redis when cfg.cluster.redis is set. All crawl state lives on one executor (the
// I/O thread); only parsing and hashing run on the pool.
namespace trawler::state {
class crawl_state;
}

namespace trawler::warc {
class warc_writer;
}

namespace trawler::crawl {

class crawler {
 public:
  using line_writer = std::function<void(std::string&& line)>;

  // The config must be validated. Records are handed to `write` as whole JSONL lines.
  crawler(boost::asio::any_io_executor ex, config::crawl_config cfg, line_writer write);
  ~crawler();
  crawler(const crawler&) = delete;
  crawler& operator=(const crawler&) = delete;

  // Persists admissions and records in `st` (which must outlive the crawler) and resumes
  // from it: every URL it knows is seen, the ones without a record are queued again. Call
  // before admit_seeds() so seeds already crawled are not fetched again. `carried`: what the
  // runs before counted; stats() goes on from it, and its pages count against
  // scope.max_pages.
  void attach_state(state::crawl_state& st, const crawl_stats& carried = {});

  // Writes the records handed to the line writer so far (false: the output failed). In
  // cluster mode (cfg.cluster.redis) a record is marked done crawl-wide only after it.
  void set_output_flush(std::function<bool()> flush_output);
  // Archives every response but redirects in `archive` (output.warc; it must outlive the
  // crawler), and points each such record at its response record.
  void set_archive(warc::warc_writer& archive);
  // The executor (the I/O thread) the crawl's state lives on.
  boost::asio::any_io_executor get_executor() const;
  // Cluster mode: which crawl, as which worker, at which Redis (for the log); empty otherwise.
  std::string sharing() const;
  // Why the crawl failed in cluster mode (Redis unreachable for too long); empty otherwise.
  const std::string& fleet_failure() const;

  // Seeds that could not be used (unparsable or over max_url_length), with the reason; call
  // before run(). An empty result means every seed was admitted.
  std::vector<std::string> admit_seeds(const std::vector<std::string>& seeds);
  // Number of seeds admitted (0 means nothing to crawl).
  std::size_t admitted_seeds() const;

  // Runs until nothing is queued or in flight, max_pages is reached, or a stop completes.
  boost::asio::awaitable<void> run();

  // Graceful stop: no new requests; open ones get `grace` to finish, then are cancelled.
  // `why` is what ended_because() says (the first stop's reason; a failure's replaces it).
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000),
            end_reason why = end_reason::stopped);
  // Cancels every open request at once.
  void stop_now(end_reason why = end_reason::stopped);
  bool stopping() const;
  // Paused: no new request starts; open ones finish. Resume picks up where it left.
  void pause();
  void resume();
  bool paused() const;
  // run() returned because the work ran out (not a stop, not max_pages): nothing is left.
  bool completed() const;
  // Why run() returned (or is returning): the frontier ran out, a budget was spent, a stop's
  // reason, Redis lost; nullopt while it runs and nothing stops it.
  std::optional<end_reason> ended_because() const;

  crawl_stats stats() const;
  // The `limit` hosts with the most work left (in cluster mode: of those this worker holds):
  // [{"host", "queued", "open", "wait_ms", "parked", "robots_known", "revisits", "responses",
  //   "failures", "consecutive_failures", "response_ms"}], most work first.
  nlohmann::json busiest_hosts(std::size_t limit) const;
  // The host table kept once the crawl has ended: busiest_hosts' entries for `limit` hosts,
  // those with URLs left first (most first), then those with the most responses, so that a
  // crawl that fetched everything still shows its hosts.
  nlohmann::json hosts_at_end(std::size_t limit) const;
  // One URL as the running crawl sees it (trawler explain in service mode): {"seen", "queued":
  // {"position" (URLs of its host ahead of it), "of", "retry", "retry_in_ms"} or null, "host":
  // a busiest_hosts entry plus "delay_ms" (null when the host is unknown), "paused", "stopping",
  // "per_host", "open_requests", "concurrency"}. `url` must be normalized.
  nlohmann::json live_view(const std::string& url) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace trawler::crawl
