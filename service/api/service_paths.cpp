#include "api/service_paths.hpp"

namespace trawler::api {

namespace fs = std::filesystem;

namespace {

bool is_default_output(const std::string& p) {
  return p.empty() || p == "-";
}

// The lexically normal relative path a checked value stands for.
fs::path normal_output(const config::crawl_config& cfg) {
  if (is_default_output(cfg.output.path)) return fs::path(default_output_name);
  return fs::path(cfg.output.path).lexically_normal();
}

fs::path normal_state(const config::crawl_config& cfg) {
  if (cfg.state.dir.empty()) return fs::path(default_state_name);
  return fs::path(cfg.state.dir).lexically_normal();
}

// True when `inner` is `outer` or lies below it (both lexically normal and relative).
bool within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin();
  auto i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // the empty last element of "dir/"
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> relative_path_problem(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return "must not contain a NUL character";
  fs::path p(path);
  if (p.is_absolute() || p.has_root_directory() || p.has_root_name()) {
    return "must be relative to the crawl's folder, got an absolute path \"" + std::string(path) +
           "\"";
  }
  fs::path n = p.lexically_normal();
  if (!n.empty() && *n.begin() == "..") {
    return "must stay inside the crawl's folder, \"" + std::string(path) + "\" leaves it";
  }
  return std::nullopt;
}

namespace {

// The service's own files in a crawl's folder, which no posted path may name.
std::optional<std::string_view> own_file(const fs::path& n) {
  for (const auto name : {crawl_file_name, history_file_name}) {
    if (n == fs::path(name)) return name;
  }
  return std::nullopt;
}

}  // namespace

std::optional<api_error> check_service_paths(const config::crawl_config& cfg) {
  if (!is_default_output(cfg.output.path)) {
    if (auto problem = relative_path_problem(cfg.output.path)) {
      return api_error{"output.path", *problem};
    }
    fs::path n = normal_output(cfg);
    if (n == "." || !n.has_filename()) {
      return api_error{"output.path", "must name a file inside the crawl's folder, got \"" +
                                          cfg.output.path + "\""};
    }
    if (const auto own = own_file(n)) {
      return api_error{"output.path", "\"" + std::string(*own) +
                                          "\" is the service's own file in the crawl's folder"};
    }
  }
  if (!cfg.state.dir.empty()) {
    if (auto problem = relative_path_problem(cfg.state.dir)) {
      return api_error{"state.dir", *problem};
    }
    fs::path n = normal_state(cfg);
    if (n == "." || n == "./") {
      return api_error{"state.dir",
                       "must be a folder inside the crawl's folder, not the folder "
                       "itself"};
    }
    if (const auto own = own_file(n)) {
      return api_error{"state.dir", "\"" + std::string(*own) +
                                        "\" is the service's own file in the crawl's folder"};
    }
  }
  // Folders of segments and WARC files: inside the crawl's folder, apart from its state.
  const std::pair<const char*, const std::string*> folders[] = {{"output.dir", &cfg.output.dir},
                                                                {"output.warc", &cfg.output.warc}};
  for (const auto& [key, value] : folders) {
    if (value->empty()) continue;
    if (auto problem = relative_path_problem(*value)) return api_error{key, *problem};
    fs::path n = fs::path(*value).lexically_normal();
    if (n == "." || n == "./") {
      return api_error{key, "must be a folder inside the crawl's folder, not the folder itself"};
    }
    if (const auto own = own_file(n)) {
      return api_error{
          key, "\"" + std::string(*own) + "\" is the service's own file in the crawl's folder"};
    }
    if (within(n, normal_state(cfg)) || within(normal_state(cfg), n)) {
      return api_error{key,
                       "must be apart from state.dir (\"" + normal_state(cfg).string() + "\")"};
    }
  }
  if (within(normal_output(cfg), normal_state(cfg))) {
    return api_error{"output.path",
                     "must not be inside state.dir (\"" + normal_state(cfg).string() + "\")"};
  }
  return std::nullopt;
}

void place_in_crawl_dir(config::crawl_config& cfg, const fs::path& crawl_dir) {
  fs::path out = normal_output(cfg);
  fs::path state = normal_state(cfg);
  if (cfg.output.dir.empty()) {
    cfg.output.path = (crawl_dir / out).lexically_normal().string();
  } else {
    cfg.output.dir =
        (crawl_dir / fs::path(cfg.output.dir).lexically_normal()).lexically_normal().string();
  }
  if (!cfg.output.warc.empty()) {
    cfg.output.warc =
        (crawl_dir / fs::path(cfg.output.warc).lexically_normal()).lexically_normal().string();
  }
  // A cluster crawl keeps its state in Redis.
  if (cfg.cluster.redis.empty()) cfg.state.dir = (crawl_dir / state).lexically_normal().string();
}

}  // namespace trawler::api
