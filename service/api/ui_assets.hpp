#pragma once

#include <optional>
#include <string_view>

// The dashboard (SPEC additions "Dashboard"): static files compiled into the binary from
// service/api/ui/, served at GET / under a strict Content-Security-Policy. They hold no data;
// the page reads the JSON API with the bearer token the user enters.
namespace trawler::api {

struct ui_asset {
  std::string_view content_type;
  std::string_view body;
};

// "/" and "/ui" are the page; "/ui/app.js" and "/ui/app.css" its script and style;
// "/favicon.ico" its icon (SVG).
std::optional<ui_asset> ui_asset_for(std::string_view path);

// Scripts, styles and requests from this origin only; nothing inline, no frames, no forms
// posted elsewhere.
inline constexpr std::string_view ui_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace trawler::api
