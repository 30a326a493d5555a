#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/crawl_registry.hpp"
#include "api/http_message.hpp"

namespace trawler::api {

// Which handler a route runs.
enum class route_id {
  healthz,
  metrics,
  ui,
  create,
  list,
  get,
  pause,
  resume,
  cancel,
  seeds,
  explain,
  broken_links,
  remove,
  report,
  records,
  history
};

// One row of the route table: the method and the path template ("{id}" matches one
// non-empty path segment). The table is the router's only source of truth: dispatch walks
// it, and the contract test compares it with proto-free-api/openapi.yaml.
struct route {
  std::string_view method;
  std::string_view path;
  route_id id;
};

struct router_options {
  // Bearer token; empty: no authentication. GET /healthz never needs it.
  std::string token;
  // The service config's crawl keys (no seeds, no api): a posted config is merged onto them
  // (RFC 7386), so the service's file sets the defaults of every crawl.
  nlohmann::json defaults = nlohmann::json::object();
};

// The control API (SPEC "Control API") as a pure function of the request: authentication,
// routing, body checks and JSON rendering; crawls are the registry's business.
class router {
 public:
  router(crawl_registry& registry, router_options options);

  response handle(const request& req);

  static std::span<const route> routes() noexcept;

 private:
  response dispatch(const route& r, const request& req, std::string_view id);
  response create(const request& req);
  response list() const;
  response get(std::string_view id) const;
  response change(route_id which, std::string_view id);
  response seeds(const request& req, std::string_view id);
  response explain(const request& req, std::string_view id);
  response broken_links(std::string_view id);
  response remove(const request& req, std::string_view id);
  response report(std::string_view id);
  response records(std::string_view id);
  response history(const request& req, std::string_view id) const;

  crawl_registry& registry_;
  router_options options_;
};

// The value of the first `name` parameter of a target's query, percent-decoded ('+' stays:
// URLs keep it), or nullopt when absent or badly encoded.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);

// The policy of GET /v1/crawls/{id}/report: the page is self-contained (inline style and a
// sorting script) and built from crawled data, so it runs sandboxed, in an origin of its own:
// nothing in it can read the dashboard's token or call the API.
inline constexpr std::string_view report_content_security_policy =
    "sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// {"error":{"message":message,"key":key}} ("key" left out when empty).
response error_response(int status, std::string_view message, std::string_view key = {});

}  // namespace trawler::api
