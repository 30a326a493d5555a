#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "api/crawl_registry.hpp"
#include "config/crawl_config.hpp"

// SPEC "Service paths": a crawl created through the API lives in <data_dir>/<id>/, and a
// posted output.path or state.dir is relative to that folder and may not leave it.
namespace trawler::api {

inline constexpr std::string_view default_output_name = "records.jsonl";
inline constexpr std::string_view default_state_name = "state";
// The service's own record of a crawl (config and state), beside its output.
inline constexpr std::string_view crawl_file_name = "crawl.json";
// What crawl.json becomes when the crawl is deleted with its files kept: a restarted service
// lists only folders with a crawl.json.
inline constexpr std::string_view removed_crawl_file_name = "crawl.deleted.json";
// The crawl's history (GET /v1/crawls/{id}/history), kept for a restarted service.
inline constexpr std::string_view history_file_name = "history.json";

// Why `path` cannot be used inside a crawl's folder, or nullopt. The check is lexical
// ("a/../b" is fine, "a/../../b" is not); what the folder holds is the service's own.
std::optional<std::string> relative_path_problem(std::string_view path);

// nullopt when output.path ("-" or "" mean the default records.jsonl) and state.dir (""
// means the default "state") name places inside the crawl's folder that do not collide
// with each other or with crawl.json and history.json; else the error names the key.
std::optional<api_error> check_service_paths(const config::crawl_config& cfg);

// Rewrites output.path and state.dir into absolute paths under crawl_dir (itself absolute);
// a cluster crawl gets no state.dir (its state is in Redis).
// Call after check_service_paths accepted cfg.
void place_in_crawl_dir(config::crawl_config& cfg, const std::filesystem::path& crawl_dir);

}  // namespace trawler::api
