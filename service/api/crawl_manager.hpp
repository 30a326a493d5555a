#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "api/crawl_registry.hpp"

namespace trawler::state {
class crawl_state;
}

namespace trawler::api {

struct manager_options {
  std::filesystem::path data_dir;  // absolute; each crawl lives in <data_dir>/<id>/
  // How often records reach the files, so a reader of a slow crawl sees them.
  std::chrono::milliseconds flush_interval{500};
  // What a cancel or the service's shutdown gives open requests before cancelling them.
  std::chrono::milliseconds stop_grace{3000};
  // How often a running crawl's counters are sampled for its history, and how often the
  // history is written to <data_dir>/<id>/history.json (also at each state change and end).
  std::chrono::milliseconds sample_interval{1000};
  std::chrono::milliseconds history_save_interval{10000};
};

// The real crawl_registry: crawlers on the API's executor (the one I/O thread), each with its
// own JSONL sink under <data_dir>/<id>/, and <data_dir>/<id>/crawl.json (config, state,
// final stats) rewritten at each state change so a restarted service lists its old crawls.
// Every member is called on that executor's thread.
class crawl_manager final : public crawl_registry {
 public:
  crawl_manager(boost::asio::any_io_executor ex, manager_options options);
  ~crawl_manager() override;
  crawl_manager(const crawl_manager&) = delete;
  crawl_manager& operator=(const crawl_manager&) = delete;

  // Lists the crawls found in data_dir (their crawl.json). Finished ones keep their state and
  // stats; ones that were running or paused when the service stopped become `interrupted`
  // (remembering which, for resume_interrupted()).
  // Returns a warning per folder that could not be read. Call before start().
  std::vector<std::string> load_existing();

  // Restarts the interrupted crawls, appending to their outputs; one that was paused when the
  // service stopped comes back paused (its state and output open, nothing fetched until it is
  // resumed), the others running. This is the resume hook:
  // only sound once the crawler restores its frontier and seen set from state.dir, else the
  // pages already recorded are fetched (and recorded) again. Returns how many restarted.
  std::size_t resume_interrupted();

  // Starts the periodic flush.
  void start();

  // Graceful stop of every live crawl (SPEC "Stopping"); `on_idle` runs once all of them have
  // returned, their records are flushed and their crawl.json saved with the state they had
  // (running or paused: unfinished, to be resumed at the next start).
  void shutdown(std::function<void()> on_idle);
  // A second signal: cancel every open request now.
  void shutdown_now();

  create_result create(config::crawl_config cfg) override;
  std::vector<crawl_view> list() const override;
  std::optional<crawl_view> get(std::string_view id) const override;
  change_result pause(std::string_view id) override;
  change_result resume(std::string_view id) override;
  change_result cancel(std::string_view id) override;
  seeds_result add_seeds(std::string_view id, const std::vector<std::string>& urls) override;
  remove_result remove(std::string_view id, bool delete_files) override;
  explain_result explain(std::string_view id, const std::string& url) override;
  broken_links_result broken_links(std::string_view id) override;
  report_result report(std::string_view id) override;
  records_result records(std::string_view id) override;
  std::optional<nlohmann::json> history(std::string_view id,
                                        std::optional<double> last_s) const override;
  std::string metrics_text() const override;

 private:
  struct entry;

  entry* find(std::string_view id) const;
  std::string new_id();
  // Opens the sink, builds the crawler, admits the seeds and spawns run(); the error names
  // the key at fault. `paused`: the crawler is paused before it runs.
  std::optional<api_error> start_crawl(entry& e, bool append, bool paused = false);
  void on_run_end(const std::string& id, std::exception_ptr ex);
  void tick();
  // Takes a history sample of every running crawl, once a second.
  void sample();
  // Commits the state and writes the records it covers; a write failure fails the crawl.
  void checkpoint(entry& e);
  void save(const entry& e) const;
  // Writes the crawl's history.json when it has samples not written yet.
  void save_history(const entry& e) const;
  // The crawl's state: its live one, else (a finished crawl with a state dir) the one opened
  // into `opened`; null without one. `error` is set when it cannot be opened.
  state::crawl_state* state_of(const entry& e, std::unique_ptr<state::crawl_state>& opened,
                               std::string& error) const;
  // The output files of a crawl: those its state lists, else (cluster mode) its own output.
  // `st` is its open state, or null.
  std::vector<std::string> outputs_of(const entry& e, const state::crawl_state* st) const;
  crawl_view view_of(const entry& e) const;
  void check_idle();

  struct timer_holder;

  boost::asio::any_io_executor ex_;
  manager_options options_;
  std::vector<std::unique_ptr<entry>> entries_;  // creation order
  std::map<std::string, entry*, std::less<>> by_id_;
  // Deleted crawls whose crawler could not go yet (its run() threw: coroutines may hold it);
  // kept until the manager goes, as on_run_end keeps them.
  std::vector<std::unique_ptr<entry>> removed_;
  std::unique_ptr<timer_holder> ticker_;
  std::unique_ptr<timer_holder> sampler_;
  std::chrono::steady_clock::time_point last_history_save_ = std::chrono::steady_clock::now();
  // The host table's length (GET /v1/crawls/{id}).
  static constexpr std::size_t hosts_listed = 50;
  std::mt19937_64 rng_;
  bool shutting_down_ = false;
  std::function<void()> on_idle_;
};

}  // namespace trawler::api
