#pragma once

// Reading a config document (YAML or JSON) without validating it, for callers that merge
// documents before validation: the CLI's flag overrides, the API's posted configs.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/crawl_config.hpp"

namespace trawler::config {

struct document_result {
  nlohmann::json doc = nlohmann::json::object();  // an empty text is an empty object
  // Read and syntax errors (then parsed is false), and problems that leave the rest of the
  // document usable (duplicate keys, unsupported YAML tags, invalid UTF-8).
  std::vector<config_error> errors;
  bool parsed = false;
};

// JSON when origin_name ends in ".json", or when the text starts with '{' and parses as
// JSON (else it is read as YAML, which also has '{' mappings); YAML otherwise. YAML follows
// the 1.2 core schema: plain scalars that look like numbers, booleans or null become those,
// quoted ones stay strings.
document_result parse_document(std::string_view text, std::string_view origin_name);

// read_error_key: the key of the error for a missing or unreadable file ("--config" in the
// CLI); syntax errors always use "config".
document_result read_document(const std::string& path, std::string_view read_error_key = "config");

}  // namespace trawler::config
