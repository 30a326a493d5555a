#include "api/router.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <variant>
#include <vector>

#include "api/auth.hpp"
#include "api/service_paths.hpp"
#include "api/ui_assets.hpp"
#include "config/document.hpp"
#include "metrics/prometheus.hpp"

namespace trawler::api {

using nlohmann::json;

namespace {

constexpr route route_table[] = {
    {"GET", "/healthz", route_id::healthz},
    {"GET", "/metrics", route_id::metrics},
    {"GET", "/", route_id::ui},
    {"GET", "/ui", route_id::ui},
    {"GET", "/ui/app.js", route_id::ui},
    {"GET", "/ui/app.css", route_id::ui},
    {"GET", "/favicon.ico", route_id::ui},
    {"POST", "/v1/crawls", route_id::create},
    {"GET", "/v1/crawls", route_id::list},
    {"GET", "/v1/crawls/{id}", route_id::get},
    {"DELETE", "/v1/crawls/{id}", route_id::remove},
    {"POST", "/v1/crawls/{id}/pause", route_id::pause},
    {"POST", "/v1/crawls/{id}/resume", route_id::resume},
    {"POST", "/v1/crawls/{id}/cancel", route_id::cancel},
    {"POST", "/v1/crawls/{id}/seeds", route_id::seeds},
    {"GET", "/v1/crawls/{id}/urls", route_id::explain},
    {"GET", "/v1/crawls/{id}/broken-links", route_id::broken_links},
    {"GET", "/v1/crawls/{id}/report", route_id::report},
    {"GET", "/v1/crawls/{id}/records", route_id::records},
    {"GET", "/v1/crawls/{id}/history", route_id::history},
};

constexpr std::string_view id_placeholder = "{id}";

// Splits off the next '/'-separated segment of `rest` (which starts after a '/').
std::string_view next_segment(std::string_view& rest) {
  auto slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  return seg;
}

// Matches a path against a template segment by segment; the {id} segment goes to `id`.
bool match(std::string_view tmpl, std::string_view path, std::string_view& id) {
  if (tmpl.empty() || path.empty() || tmpl[0] != '/' || path[0] != '/') return false;
  tmpl.remove_prefix(1);
  path.remove_prefix(1);
  bool tmpl_done = false, path_done = false;
  while (!tmpl_done && !path_done) {
    tmpl_done = tmpl.find('/') == std::string_view::npos;
    path_done = path.find('/') == std::string_view::npos;
    std::string_view t = next_segment(tmpl);
    std::string_view p = next_segment(path);
    if (t == id_placeholder) {
      if (p.empty()) return false;
      id = p;
    } else if (t != p) {
      return false;
    }
  }
  return tmpl_done && path_done;
}

std::string dump(const json& j) {
  // Strings that came from outside are valid UTF-8 (the JSON parser checks), but OS error
  // texts in a crawl's error may not be: never let dump() throw over them.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

response json_response(int status, const json& body) {
  response r;
  r.status = status;
  r.body = dump(body);
  r.body += '\n';
  return r;
}

json error_json(const api_error& e) {
  json j = {{"message", e.message}};
  if (!e.key.empty()) j["key"] = e.key;
  return j;
}

json error_body(std::string_view message, std::string_view key) {
  return {{"error", error_json(api_error{std::string(key), std::string(message)})}};
}

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// application/json or any +json type (RFC 6839), parameters ignored.
bool is_json_media_type(std::string_view content_type) {
  std::string media = lower_trimmed(content_type.substr(0, content_type.find(';')));
  return media == "application/json" ||
         (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0 &&
          media.find('/') != std::string::npos);
}

// application/yaml (RFC 9512), the older application/x-yaml, text/yaml and text/x-yaml, or any
// +yaml type, parameters ignored.
bool is_yaml_media_type(std::string_view content_type) {
  std::string media = lower_trimmed(content_type.substr(0, content_type.find(';')));
  return media == "application/yaml" || media == "application/x-yaml" || media == "text/yaml" ||
         media == "text/x-yaml" ||
         (media.size() > 5 && media.compare(media.size() - 5, 5, "+yaml") == 0 &&
          media.find('/') != std::string::npos);
}

// 400 listing every config problem with its key ("config" for the document as a whole);
// "error" is the first, as everywhere.
response config_errors_response(const std::vector<config::config_error>& problems) {
  json all = json::array();
  for (const auto& e : problems) {
    all.push_back(error_json(api_error{e.key.empty() ? "config" : e.key, e.message}));
  }
  json doc = {{"error", all.front()}, {"errors", std::move(all)}};
  return json_response(400, doc);
}

// The JSON object a POST carries, or the response refusing it. A missing Content-Type is
// accepted as JSON (a bare `curl --data-binary` client); a different one is 415.
std::variant<json, response> json_body(const request& req, std::string_view key) {
  if (auto ct = req.header("content-type"); ct && !is_json_media_type(*ct)) {
    return error_response(
        415, "Content-Type must be application/json, got \"" + std::string(*ct) + "\"");
  }
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return error_response(400, "the body is empty: send a JSON object", key);
  }
  json doc;
  try {
    doc = json::parse(req.body);
  } catch (const json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." without the tag.
    std::string what = e.what();
    auto tag_end = what.find("] ");
    if (tag_end != std::string::npos) what.erase(0, tag_end + 2);
    return error_response(400, "the body is not valid JSON: " + what, key);
  }
  if (!doc.is_object()) {
    return error_response(
        400, std::string("the body must be a JSON object, got ") + doc.type_name(), key);
  }
  return doc;
}

// The seeds a crawl list names: enough to tell crawls apart, not the whole list.
constexpr std::size_t listed_seeds = 3;

json summary_json(const crawl_view& v) {
  json j = {{"id", v.id},
            {"state", to_string(v.state)},
            {"output", v.output},
            {"created_at", v.created_at},
            {"stats", v.stats}};
  json seeds = json::array();
  std::size_t seed_count = 0;
  if (auto it = v.config.find("seeds"); it != v.config.end() && it->is_array()) {
    seed_count = it->size();
    for (std::size_t i = 0; i < it->size() && i < listed_seeds; ++i) seeds.push_back((*it)[i]);
  }
  j["seeds"] = std::move(seeds);
  j["seed_count"] = seed_count;
  if (v.finished_at) j["finished_at"] = *v.finished_at;
  if (v.error) j["error"] = *v.error;
  if (v.end_reason) {
    j["end_reason"] = *v.end_reason;
    j["end_message"] = v.end_message;
  }
  return j;
}

response not_found_crawl(std::string_view id) {
  return error_response(404, "no crawl with id \"" + std::string(id) + "\"");
}

response unauthorized(auth_verdict verdict) {
  response r = error_response(401, verdict == auth_verdict::missing
                                       ? "this call needs an Authorization: Bearer token"
                                       : "the bearer token is not valid");
  // RFC 6750 3.1: say why when credentials were sent.
  r.headers.emplace_back("WWW-Authenticate",
                         verdict == auth_verdict::missing
                             ? "Bearer realm=\"trawler\""
                             : "Bearer realm=\"trawler\", error=\"invalid_token\"");
  return r;
}

}  // namespace

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::string value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '%') {
        value += raw[i];
        continue;
      }
      if (i + 2 >= raw.size()) return std::nullopt;
      const int hi = hex(raw[i + 1]);
      const int lo = hex(raw[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      value += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    return value;
  }
  return std::nullopt;
}

response error_response(int status, std::string_view message, std::string_view key) {
  return json_response(status, error_body(message, key));
}

router::router(crawl_registry& registry, router_options options)
    : registry_(registry), options_(std::move(options)) {
  if (!options_.defaults.is_object()) options_.defaults = json::object();
}

std::span<const route> router::routes() noexcept {
  return route_table;
}

response router::handle(const request& req) {
  std::string_view path = req.target;
  path = path.substr(0, path.find('?'));

  // Health checks come from orchestrators that hold no token; the dashboard's files hold no
  // data (the page asks for the token, then reads the API with it).
  if (path != "/healthz" && !ui_asset_for(path)) {
    auto verdict = check_bearer(req.header("authorization"), options_.token);
    if (verdict != auth_verdict::allowed) return unauthorized(verdict);
  }

  std::string allowed;
  for (const route& r : route_table) {
    std::string_view id;
    if (!match(r.path, path, id)) continue;
    if (r.method == req.method) return dispatch(r, req, id);
    if (allowed.find(r.method) == std::string::npos) {
      if (!allowed.empty()) allowed += ", ";
      allowed += r.method;
    }
  }
  if (!allowed.empty()) {
    response res = error_response(405, "method " + req.method + " is not allowed on " +
                                           std::string(path) + " (allowed: " + allowed + ")");
    res.headers.emplace_back("Allow", allowed);
    return res;
  }
  return error_response(404, "no such resource: " + std::string(path));
}

response router::dispatch(const route& r, const request& req, std::string_view id) {
  switch (r.id) {
    case route_id::ui: {
      std::string_view path = req.target;
      const auto asset = ui_asset_for(path.substr(0, path.find('?')));
      response res;
      res.content_type = std::string(asset->content_type);
      res.body = std::string(asset->body);
      res.headers.emplace_back("Content-Security-Policy", std::string(ui_content_security_policy));
      res.headers.emplace_back("X-Content-Type-Options", "nosniff");
      res.headers.emplace_back("Referrer-Policy", "no-referrer");
      res.headers.emplace_back("Cache-Control", "no-cache");
      return res;
    }
    case route_id::healthz:
      return json_response(200, {{"status", "ok"}});
    case route_id::metrics: {
      response res;
      res.content_type = std::string(metrics::prometheus_content_type);
      res.body = registry_.metrics_text();
      return res;
    }
    case route_id::create:
      return create(req);
    case route_id::list:
      return list();
    case route_id::get:
      return get(id);
    case route_id::pause:
    case route_id::resume:
    case route_id::cancel:
      return change(r.id, id);
    case route_id::seeds:
      return seeds(req, id);
    case route_id::explain:
      return explain(req, id);
    case route_id::broken_links:
      return broken_links(id);
    case route_id::remove:
      return remove(req, id);
    case route_id::report:
      return report(id);
    case route_id::records:
      return records(id);
    case route_id::history:
      return history(req, id);
  }
  return error_response(500, "unrouted request");
}

response router::create(const request& req) {
  // YAML (the form of every example config) is read as `trawler crawl -c` reads a file;
  // JSON as before.
  const auto ct = req.header("content-type");
  const bool yaml = ct && is_yaml_media_type(*ct);
  if (ct && !yaml && !is_json_media_type(*ct)) {
    return error_response(415, "Content-Type must be application/json or application/yaml, got \"" +
                                   std::string(*ct) + "\"");
  }
  std::vector<config::config_error> problems;
  json posted;
  if (yaml) {
    if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
      return error_response(400, "the body is empty: send a config (YAML or JSON)", "config");
    }
    config::document_result doc = config::parse_document(req.body, "the body");
    if (!doc.parsed) return config_errors_response(doc.errors);
    if (!doc.doc.is_object()) {
      return error_response(
          400,
          "the body must be a YAML mapping of config keys, got " + std::string(doc.doc.type_name()),
          "config");
    }
    // Duplicate keys, unsupported tags, invalid UTF-8: reported as a config file's are.
    problems = std::move(doc.errors);
    posted = std::move(doc.doc);
  } else {
    auto body = json_body(req, "config");
    if (auto* refused = std::get_if<response>(&body)) return std::move(*refused);
    posted = std::move(std::get<json>(body));
  }
  // The api section configures the service, not a crawl: a posted one has no effect.
  posted.erase("api");
  auto loaded = config::from_json(config::merge_patch(options_.defaults, posted));
  problems.insert(problems.end(), loaded.errors.begin(), loaded.errors.end());
  config::crawl_config cfg = std::move(loaded.config);
  // A worker of a cluster crawl may join without seeds: another one gave them. (Listed beside
  // the config's problems, so that one answer names everything to fix.)
  const bool seeds_named = std::any_of(problems.begin(), problems.end(), [](const auto& e) {
    return e.key == "seeds" || e.key.starts_with("seeds[");
  });
  if (cfg.seeds.empty() && cfg.cluster.redis.empty() && !seeds_named)
    problems.push_back({"seeds", "at least one seed URL is required"});
  if (!problems.empty()) return config_errors_response(problems);
  if (auto e = check_service_paths(cfg)) return error_response(400, e->message, e->key);

  create_result created = registry_.create(std::move(cfg));
  if (created.error) {
    return error_response(created.status, created.error->message, created.error->key);
  }
  response res = json_response(201, {{"id", created.id}, {"state", "running"}});
  res.headers.emplace_back("Location", "/v1/crawls/" + created.id);
  return res;
}

response router::list() const {
  json crawls = json::array();
  for (const auto& v : registry_.list()) crawls.push_back(summary_json(v));
  return json_response(200, {{"crawls", std::move(crawls)}});
}

response router::get(std::string_view id) const {
  auto v = registry_.get(id);
  if (!v) return not_found_crawl(id);
  json j = summary_json(*v);
  j["config"] = v->config;
  if (v->hosts.is_array()) j["hosts"] = v->hosts;
  return json_response(200, j);
}

response router::change(route_id which, std::string_view id) {
  change_result r = which == route_id::pause    ? registry_.pause(id)
                    : which == route_id::resume ? registry_.resume(id)
                                                : registry_.cancel(id);
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (r.outcome == change_outcome::conflict) return error_response(409, r.message);
  return json_response(200, {{"id", id}, {"state", to_string(r.state)}});
}

response router::seeds(const request& req, std::string_view id) {
  auto body = json_body(req, "urls");
  if (auto* refused = std::get_if<response>(&body)) return std::move(*refused);
  const json& doc = std::get<json>(body);
  for (const auto& [key, value] : doc.items()) {
    if (key != "urls") return error_response(400, "unknown key", key);
  }
  auto it = doc.find("urls");
  if (it == doc.end()) return error_response(400, "is required: a list of URLs", "urls");
  if (!it->is_array() || it->empty()) {
    return error_response(400, "must be a non-empty list of URLs", "urls");
  }
  std::vector<std::string> urls;
  urls.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& u = (*it)[i];
    std::string key = "urls[" + std::to_string(i) + "]";
    if (!u.is_string()) {
      return error_response(400, std::string("must be a string, got ") + u.type_name(), key);
    }
    if (u.get_ref<const std::string&>().empty())
      return error_response(400, "must not be empty", key);
    urls.push_back(u.get<std::string>());
  }

  seeds_result r = registry_.add_seeds(id, urls);
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (r.outcome == change_outcome::conflict) return error_response(409, r.message);
  json rejected = json::array();
  for (const auto& e : r.rejected) rejected.push_back(error_json(e));
  if (r.accepted == 0 && !r.rejected.empty()) {
    json doc = error_body(r.rejected.front().message, r.rejected.front().key);
    doc["rejected"] = std::move(rejected);
    return json_response(400, doc);
  }
  return json_response(200, {{"id", id},
                             {"state", to_string(r.state)},
                             {"accepted", r.accepted},
                             {"rejected", std::move(rejected)}});
}

response router::explain(const request& req, std::string_view id) {
  auto url = query_parameter(req.target, "url");
  if (!url || url->empty()) {
    return error_response(400, "is required: ?url= and the URL, percent-encoded", "url");
  }
  explain_result r = registry_.explain(id, *url);
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (!r.error.empty()) return error_response(500, r.error);
  return json_response(200, r.answer);
}

response router::broken_links(std::string_view id) {
  broken_links_result r = registry_.broken_links(id);
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (!r.error.empty()) return error_response(500, r.error);
  return json_response(200, r.body);
}

response router::remove(const request& req, std::string_view id) {
  // ?files=true: the crawl's folder goes too; absent or false: its files stay.
  const auto files = query_parameter(req.target, "files");
  if (files && *files != "true" && *files != "false") {
    return error_response(400, "must be true or false, got \"" + *files + "\"", "files");
  }
  remove_result r = registry_.remove(id, files && *files == "true");
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (r.outcome == change_outcome::conflict) return error_response(409, r.message);
  if (!r.error.empty()) return error_response(500, r.error);
  return json_response(200, {{"id", id}, {"files_deleted", r.files_deleted}});
}

response router::report(std::string_view id) {
  report_result r = registry_.report(id);
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (!r.error.empty()) return error_response(500, r.error);
  response res;
  res.content_type = "text/html; charset=utf-8";
  res.body = std::move(r.html);
  res.headers.emplace_back("Content-Security-Policy", std::string(report_content_security_policy));
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("Content-Disposition",
                           "inline; filename=\"trawler-report-" + std::string(id) + ".html\"");
  return res;
}

response router::records(std::string_view id) {
  records_result r = registry_.records(id);
  if (r.outcome == change_outcome::not_found) return not_found_crawl(id);
  if (r.outcome == change_outcome::conflict) return error_response(409, r.message);
  response res;
  // JSON Lines; application/jsonl is not registered (yet), x-ndjson is what tools accept.
  res.content_type = "application/x-ndjson";
  res.file = std::move(r.path);
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"trawler-records-" +
                                                      std::string(id) + ".jsonl\"");
  return res;
}

response router::history(const request& req, std::string_view id) const {
  // ?last_s=N: only the samples of the last N seconds of crawl time (the list's sparklines).
  std::optional<double> last_s;
  if (const auto last = query_parameter(req.target, "last_s")) {
    char* end = nullptr;
    const double n = std::strtod(last->c_str(), &end);
    if (last->empty() || end != last->c_str() + last->size() || !(n > 0) || n > 1e9) {
      return error_response(400, "must be a number of seconds above 0, got \"" + *last + "\"",
                            "last_s");
    }
    last_s = n;
  }
  auto h = registry_.history(id, last_s);
  if (!h) return not_found_crawl(id);
  return json_response(200, *h);
}

}  // namespace trawler::api
