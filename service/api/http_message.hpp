#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The control API's view of HTTP: plain values, so the routes are testable without a socket.
namespace trawler::api {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
  std::string method;   // "GET", "POST", ... as sent (methods are case-sensitive)
  std::string target;   // origin-form: path and optional "?query"
  header_list headers;  // names as sent; look them up with header()
  std::string body;

  // The first field with this name, compared case-insensitively (RFC 9110 5.1).
  std::optional<std::string_view> header(std::string_view name) const;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  header_list headers;  // extra fields (WWW-Authenticate, Allow, Location)
  // When set, the body is this file as it is when the response is written (its size then),
  // streamed from disk instead of `body`; a file that cannot be opened is a 500.
  std::string file;
};

}  // namespace trawler::api
