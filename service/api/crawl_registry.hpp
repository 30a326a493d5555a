#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/crawl_state.hpp"
#include "config/crawl_config.hpp"

// What the routes need from whoever owns the crawls. The real one is crawl_manager; the
// unit tests use a fake. Every call happens on the thread that serves the API.
namespace trawler::api {

// A problem with a request, reported as {"error":{"message":…,"key":…}}.
struct api_error {
  std::string key;  // dotted config key or request field ("limits.concurrency", "urls"); may be ""
  std::string message;
};

struct crawl_view {
  std::string id;
  crawl_state state = crawl_state::running;
  nlohmann::json stats = nlohmann::json::object();   // SPEC stats object
  nlohmann::json config = nlohmann::json::object();  // the effective config, paths resolved
  std::string output;                                // absolute path of the records file
  std::string created_at;                            // RFC 3339 UTC
  std::optional<std::string> finished_at;            // when it completed, failed or was cancelled
  std::optional<std::string> error;                  // why it failed
  // Why it ended (crawl::end_reason's name) and the sentence saying so, queued URLs included;
  // unset while it runs. An interrupted crawl has "service_stopped".
  std::optional<std::string> end_reason;
  std::string end_message;
  // GET /v1/crawls/{id} of a running or paused crawl: its busiest hosts (crawler::busiest_hosts);
  // of an ended crawl, the table taken at its end (crawler::hosts_at_end); null otherwise.
  nlohmann::json hosts;
};

struct create_result {
  std::string id;                  // set on success
  std::optional<api_error> error;  // set on failure
  int status = 400;                // HTTP status for the failure (500: the service's fault)
};

enum class change_outcome { ok, not_found, conflict };

struct change_result {
  change_outcome outcome = change_outcome::ok;
  crawl_state state = crawl_state::running;  // the state after the call (when found)
  std::string message;                       // why, for conflict
};

struct seeds_result {
  change_outcome outcome = change_outcome::ok;
  crawl_state state = crawl_state::running;
  std::size_t accepted = 0;         // seeds admitted (a URL already seen counts, changes nothing)
  std::vector<api_error> rejected;  // unusable URLs: key "urls[i]"
  std::string message;              // why, for conflict
};

struct remove_result {
  change_outcome outcome = change_outcome::ok;  // conflict: the crawl has not finished
  std::string message;                          // why, for conflict
  std::string error;  // set when its files (or its crawl.json) could not be changed
  bool files_deleted = false;
};

struct report_result {
  change_outcome outcome = change_outcome::ok;  // not_found: no such crawl
  std::string html;                             // the page `trawler report` writes
  std::string error;                            // set when the crawl's outputs cannot be read
};

struct records_result {
  change_outcome outcome = change_outcome::ok;  // conflict: the records are not one file
  std::string path;                             // the crawl's records file, to send as it is
  std::string message;                          // why, for conflict
};

struct explain_result {
  change_outcome outcome = change_outcome::ok;  // not_found: no such crawl
  nlohmann::json answer;                        // SPEC "Explain": the answer object
  std::string error;                            // set when the crawl's outputs cannot be read
};

struct broken_links_result {
  change_outcome outcome = change_outcome::ok;  // not_found: no such crawl
  // {"id", "listed", "not_listed_records", "broken_links": [{"url", "status",
  // "linked_from_count", "linked_from"}]}: the most linked first, at most 1000.
  nlohmann::json body;
  std::string error;  // set when the crawl's outputs cannot be read
};

class crawl_registry {
 public:
  virtual ~crawl_registry() = default;

  // `cfg` is validated, has seeds, and its output.path / state.dir passed
  // check_service_paths (relative to the crawl's folder, or defaults).
  virtual create_result create(config::crawl_config cfg) = 0;
  // Every crawl, oldest first.
  virtual std::vector<crawl_view> list() const = 0;
  virtual std::optional<crawl_view> get(std::string_view id) const = 0;
  virtual change_result pause(std::string_view id) = 0;
  virtual change_result resume(std::string_view id) = 0;
  virtual change_result cancel(std::string_view id) = 0;
  virtual seeds_result add_seeds(std::string_view id, const std::vector<std::string>& urls) = 0;
  // Takes a finished crawl (completed, cancelled or failed) off the list for good: a restarted
  // service does not list it again. Its folder <data_dir>/<id>/ (records, state, archives)
  // stays as it is, unless `delete_files`, which removes the folder and everything in it.
  // A crawl that runs, is paused or waits to resume is a conflict: cancel it first.
  virtual remove_result remove(std::string_view id, bool delete_files) = 0;
  // One URL's fate in the crawl (GET /v1/crawls/{id}/urls?url=).
  virtual explain_result explain(std::string_view id, const std::string& url) = 0;
  // The crawl's URLs that answered 4xx/5xx and the pages linking them, from its outputs
  // (GET /v1/crawls/{id}/broken-links).
  virtual broken_links_result broken_links(std::string_view id) = 0;
  // The HTML report of the crawl's outputs, as `trawler report` writes it
  // (GET /v1/crawls/{id}/report).
  virtual report_result report(std::string_view id) = 0;
  // The crawl's records file (GET /v1/crawls/{id}/records), with the records held for the next
  // checkpoint written first. Records in rotated segments (output.dir) are a conflict.
  virtual records_result records(std::string_view id) = 0;
  // GET /v1/crawls/{id}/history: the crawl's crawl_history::to_json(last_s) with its "id";
  // nullopt for no such crawl.
  virtual std::optional<nlohmann::json> history(std::string_view id,
                                                std::optional<double> last_s) const = 0;
  // Prometheus text for GET /metrics.
  virtual std::string metrics_text() const = 0;
};

}  // namespace trawler::api
