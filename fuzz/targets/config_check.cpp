#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "config/crawl_config.hpp"
#include "config/document.hpp"
#include "fuzz_checks.hpp"
#include "record/utf8.hpp"

namespace trawler::fuzz {

namespace {

// Errors reach stderr and the control API's JSON answers: each must say something, in UTF-8.
finding check_errors(const std::vector<config::config_error>& errors, std::string_view origin) {
  for (const auto& e : errors) {
    if (e.message.empty()) return "an error without a message, key " + printable(e.key);
    if (!record::is_valid_utf8(e.text()))
      return "error text is not UTF-8 (" + std::string(origin) + "): " + printable(e.text());
  }
  return std::nullopt;
}

finding check_load(const config::load_result& r, std::string_view origin) {
  if (auto f = check_errors(r.errors, origin)) return f;
  if (!r.ok()) return std::nullopt;
  // An accepted config survives its own JSON form: what the service stores and reports.
  const nlohmann::json j = config::to_json(r.config);
  std::string text;
  try {
    text = j.dump();
  } catch (const std::exception& e) {
    return "to_json of an accepted config (" + std::string(origin) + ") does not dump: " + e.what();
  }
  const auto again = config::from_json(j);
  if (!again.ok())
    return "to_json of an accepted config (" + std::string(origin) +
           ") is refused: " + again.errors.front().text();
  if (!(again.config == r.config))
    return "to_json/from_json changed an accepted config (" + std::string(origin) + ")";
  const auto reparsed = config::parse_text(text, "roundtrip.json");
  if (!reparsed.ok() || !(reparsed.config == r.config))
    return "the dumped JSON of an accepted config (" + std::string(origin) +
           ") does not parse back to it: " + printable(text);
  return std::nullopt;
}

finding check_config_impl(std::string_view data) {
  if (auto f = check_load(config::parse_text(data, "fuzz.yaml"), "yaml")) return f;
  if (auto f = check_load(config::parse_text(data, "fuzz.json"), "json")) return f;
  const auto doc = config::parse_document(data, "fuzz.yaml");
  if (auto f = check_errors(doc.errors, "document")) return f;
  if (doc.parsed && doc.errors.empty()) {
    // A document read without complaint is one the CLI and API go on to merge and report: it
    // must dump (and so hold UTF-8 only).
    try {
      (void)doc.doc.dump();
    } catch (const std::exception& e) {
      return std::string("a parsed document does not dump: ") + e.what();
    }
  }
  return std::nullopt;
}

}  // namespace

finding check_config(std::string_view data) {
  try {
    return check_config_impl(data);
  } catch (const std::exception& e) {
    return std::string("config: exception ") + e.what() + " for " + printable(data);
  }
}

}  // namespace trawler::fuzz
