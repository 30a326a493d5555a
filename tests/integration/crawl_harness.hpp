#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/test_server.hpp"

// Runs the real `trawler` binary and reads back what it wrote.
namespace trawler::testing {

struct crawl_run {
  process_result proc;
  std::vector<nlohmann::json> records;           // every line of the output, in order
  std::map<std::string, nlohmann::json> by_url;  // last record for each URL
  std::map<std::string, int> count_by_url;       // records per URL
  nlohmann::json stats;                          // the --stats file
  std::string output_path;

  const nlohmann::json& at(const std::string& url) const;
  bool has(const std::string& url) const { return by_url.count(url) != 0; }
};

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string trawler_binary();

// A small HTML page with a title and one <a href> per entry; `extra` goes into <head>.
std::string page(const std::string& title, const std::vector<std::string>& hrefs,
                 const std::string& extra = "");

// "--resolve NAME:PORT:127.0.0.1" for every name, so several hosts live on one server.
std::vector<std::string> resolve_args(const test_server& s, const std::vector<std::string>& names);

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b);

// `trawler crawl --allow-private --no-progress -o FILE --stats FILE ARGS...`; the records are
// parsed strictly (each line must be one JSON object).
crawl_run run_crawl(const std::vector<std::string>& args, const environment& env = {});

// Every line of a JSONL file that parses as JSON, in order; lines that do not (a line torn by
// a kill) are counted in *torn when given.
std::vector<nlohmann::json> read_jsonl(const std::string& path, int* torn = nullptr);

// Validates JSONL lines against proto-free-api/record.schema.json with python3-jsonschema.
// Returns "" when all are valid, else the validator's complaint.
std::string validate_records_against_schema(const std::string& jsonl_path);

}  // namespace trawler::testing
