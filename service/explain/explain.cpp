#include "explain/explain.hpp"

#include <cstdio>

#include "record/record.hpp"
#include "recrawl/visit.hpp"

#include <algorithm>
#include <filesystem>

#include "common/http_status.hpp"
#include "frontier/frontier.hpp"
#include "scope/scope.hpp"
#include "sink/line_reader.hpp"
#include "url/url.hpp"

namespace trawler::explain {

namespace {

using nlohmann::json;

// Linking pages kept in full; the rest are counted.
constexpr std::size_t max_linking_pages = 5;

std::string host_key_of(std::string_view url) {
  auto parts = url::split(url);
  return parts ? url::host_key(*parts) : std::string();
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string string_field(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_field(const json& j, const char* key, std::int64_t fallback = 0) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::int64_t>() : fallback;
}

bool looks_like_sitemap(const json& record) {
  const std::string type = string_field(record, "content_type");
  const std::string url = string_field(record, "url");
  return (type.find("xml") != std::string::npos && type != "application/xhtml+xml") ||
         url.ends_with(".xml") || url.ends_with(".xml.gz");
}

// " It is a seed." / " It was found at depth 2 on https://a/."
std::string found_on(int depth, const std::string& referrer, bool redirect_target = false) {
  if (referrer.empty()) return depth == 0 ? " It is a seed." : "";
  if (redirect_target) return " It was the redirect target of " + referrer + ".";
  return " It was found at depth " + std::to_string(depth) + " on " + referrer + ".";
}

std::string found_on(const json& record) {
  const std::string referrer = string_field(record, "referrer");
  return found_on(static_cast<int>(int_field(record, "depth")), referrer);
}

std::string ms_text(double ms) {
  char buf[64];
  if (ms >= 1000)
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000.0);
  else
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  return buf;
}

// "text/html, 12345 bytes in 35 ms at T after 1 attempt" (without a type: "12345 bytes ...")
std::string response_facts(const json& r) {
  std::string s;
  const std::string type = string_field(r, "content_type");
  if (!type.empty()) s += type + ", ";
  s += std::to_string(int_field(r, "size")) + " bytes";
  if (const auto it = r.find("elapsed_ms"); it != r.end() && it->is_number())
    s += " in " + ms_text(it->get<double>());
  const std::string at = string_field(r, "fetched_at");
  if (!at.empty()) s += " at " + at;
  const auto attempts = int_field(r, "attempts", 1);
  s += " after " + std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  return s;
}

// "200 text/html, 12345 bytes in 35 ms at T after 1 attempt"
std::string response_text(const json& r) {
  const std::string type = string_field(r, "content_type");
  return std::to_string(int_field(r, "status")) + (type.empty() ? ", " : " ") + response_facts(r);
}

// "404 Not Found" (or "599" for a code without a reason phrase).
std::string status_text(int status) {
  const auto reason = reason_phrase(status);
  return std::to_string(status) + (reason.empty() ? "" : " " + std::string(reason));
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + in_quotes(i);
  return out;
}

// Why the scope refuses a URL, naming the rule; empty when it is in scope.
struct judgement {
  state::drop_reason reason = state::drop_reason::out_of_scope;
  int rule = -1;
};

std::optional<judgement> judge(const config::crawl_config& cfg, const std::string& url, int depth) {
  scope::scope rules(scope::rules_of(cfg));
  for (const auto& seed : cfg.seeds) {
    if (auto n = url::normalize_seed(seed)) {
      if (auto p = url::split(*n)) rules.add_seed_host(p->host);
    }
  }
  auto parts = url::split(url);
  if (!parts) return judgement{};
  switch (rules.check(url, parts->host, depth)) {
    case scope::verdict::in:
      return std::nullopt;
    case scope::verdict::out_of_scope:
      return judgement{state::drop_reason::out_of_scope};
    case scope::verdict::not_included:
      return judgement{state::drop_reason::not_included};
    case scope::verdict::excluded:
      return judgement{state::drop_reason::excluded, rules.excluding_rule(url)};
    case scope::verdict::too_deep:
      return judgement{state::drop_reason::too_deep};
    case scope::verdict::too_long:
      return judgement{state::drop_reason::too_long};
  }
  return judgement{};
}

std::string_view reason_name(state::drop_reason r) {
  switch (r) {
    case state::drop_reason::out_of_scope:
      return "out_of_scope";
    case state::drop_reason::not_included:
      return "not_included";
    case state::drop_reason::excluded:
      return "excluded";
    case state::drop_reason::too_deep:
      return "too_deep";
    case state::drop_reason::too_long:
      return "too_long";
    case state::drop_reason::sitemap_limit:
      return "sitemap_limit";
    case state::drop_reason::nofollow:
      return "nofollow";
  }
  return "out_of_scope";
}

// The scope rule behind a drop, as a sentence fragment and as JSON.
std::pair<std::string, json> rule_text(const evidence& ev, state::drop_reason reason, int rule,
                                       int depth) {
  json j = {{"reason", reason_name(reason)}};
  const config::crawl_config* cfg = ev.config ? &*ev.config : nullptr;
  std::string text;
  switch (reason) {
    case state::drop_reason::out_of_scope: {
      const std::string host = url::split(ev.url) ? url::split(ev.url)->host : std::string();
      j["key"] = "scope.mode";
      text = "its host " + host + " is outside the crawl's scope (scope.mode " +
             (cfg ? cfg->scope.mode : std::string("host")) + ": ";
      const std::string mode = cfg ? cfg->scope.mode : std::string("host");
      text += mode == "domain" ? "only the seeds' registrable domains)"
                               : "only the seeds' hosts, www. or not)";
      if (cfg) j["value"] = cfg->scope.mode;
      break;
    }
    case state::drop_reason::not_included:
      j["key"] = "scope.include";
      text = "no scope.include pattern matches it";
      if (cfg) {
        text += " (" + joined(cfg->scope.include) + ")";
        j["value"] = cfg->scope.include;
      }
      break;
    case state::drop_reason::excluded:
      j["key"] = "scope.exclude" + (rule >= 0 ? "[" + std::to_string(rule) + "]" : std::string());
      text = j["key"].get<std::string>();
      if (cfg && rule >= 0 && static_cast<std::size_t>(rule) < cfg->scope.exclude.size()) {
        const auto& pattern = cfg->scope.exclude[static_cast<std::size_t>(rule)];
        text += " " + in_quotes(pattern);
        j["value"] = pattern;
      }
      text += " matches it";
      break;
    case state::drop_reason::too_deep:
      j["key"] = "scope.max_depth";
      text = "it was found at depth " + std::to_string(depth) + (depth >= 255 ? " or more" : "") +
             ", deeper than scope.max_depth";
      if (cfg) {
        text += " " + std::to_string(cfg->scope.max_depth);
        j["value"] = cfg->scope.max_depth;
      }
      break;
    case state::drop_reason::too_long:
      j["key"] = "scope.max_url_length";
      text = "it is " + std::to_string(ev.url.size()) +
             " characters long, longer than scope.max_url_length";
      if (cfg) {
        text += " " + std::to_string(cfg->scope.max_url_length);
        j["value"] = cfg->scope.max_url_length;
      }
      break;
    case state::drop_reason::sitemap_limit:
      j["key"] = "sitemaps.max_urls";
      text = "its sitemap listed it after sitemaps.max_urls locations";
      break;
    case state::drop_reason::nofollow:
      j["key"] = "fetch.follow_nofollow";
      text =
          "every link to it so far is nofollow (rel=nofollow, or the page's meta robots or "
          "X-Robots-Tag), and fetch.follow_nofollow is off";
      break;
  }
  return {text, j};
}

json linking_json(const evidence& ev) {
  json out = json::array();
  for (const auto& p : ev.linked_from) {
    out.push_back({{"url", p.url}, {"depth", p.depth}, {"nofollow", p.nofollow}});
  }
  return out;
}

std::string linking_text(const evidence& ev) {
  if (ev.linked_from.empty()) return "";
  std::string s = ev.linked_from_total == 1 ? " One page of the outputs links it: "
                                            : " " + std::to_string(ev.linked_from_total) +
                                                  " pages of the outputs link it, first ";
  s += ev.linked_from.front().url + " (depth " + std::to_string(ev.linked_from.front().depth) +
       (ev.linked_from.front().nofollow ? ", nofollow" : "") + ").";
  return s;
}

// The pages of the outputs linking a broken URL, all of the first few named.
std::string broken_linking_text(const evidence& ev) {
  if (ev.linked_from.empty()) return " No page of the outputs read links it.";
  std::string s = ev.linked_from_total == 1 ? " One page of the outputs links it: "
                                            : " " + std::to_string(ev.linked_from_total) +
                                                  " pages of the outputs link it: ";
  for (std::size_t i = 0; i < ev.linked_from.size(); ++i)
    s += (i ? ", " : "") + ev.linked_from[i].url;
  if (ev.linked_from_total > ev.linked_from.size())
    s += " and " + std::to_string(ev.linked_from_total - ev.linked_from.size()) + " more";
  return s + ".";
}

// The wait of a queued URL's host, from the live view's "host" object.
std::string host_wait_text(const json& host, const json& live) {
  std::string s;
  const std::string key = string_field(host, "host");
  if (!host.value("robots_known", true)) {
    s += " Its host " + key + " waits for its robots.txt.";
  }
  if (host.value("parked", false)) {
    s += " Its host " + key +
         " has spent its page budget (scope.max_pages_per_host): its URLs stay queued.";
  }
  const auto wait = int_field(host, "wait_ms");
  const auto failures = int_field(host, "consecutive_failures");
  if (wait > 0) {
    s += " " + key + " may start its next request in " + ms_text(static_cast<double>(wait)) + ": ";
    if (failures > 0) {
      s += "backoff after " + std::to_string(failures) + " consecutive failure" +
           (failures == 1 ? "" : "s") + " (or the server's Retry-After)";
    } else {
      s += "request spacing of " + ms_text(static_cast<double>(int_field(host, "delay_ms"))) +
           " (limits.delay_ms, Crawl-delay or adaptive politeness)";
    }
    s += ".";
  }
  const auto open = int_field(host, "open");
  const auto per_host = int_field(live, "per_host");
  if (open > 0 && open >= per_host) {
    s += " " + key + " has " + std::to_string(open) + " open requests, its limits.per_host.";
  }
  if (live.value("paused", false)) s += " The crawl is paused.";
  if (live.value("stopping", false)) s += " The crawl is stopping.";
  return s;
}

answer make(std::string fate, std::string text, json j) {
  j["fate"] = fate;
  j["explanation"] = text;
  return answer{std::move(fate), std::move(text), std::move(j)};
}

}  // namespace

evidence evidence_for(const std::string& asked) {
  evidence ev;
  ev.asked = asked;
  if (auto n = url::normalize_seed(asked)) ev.url = std::move(*n);
  return ev;
}

bool read_outputs(const std::vector<std::string>& files, evidence& ev, std::string& error) {
  ev.outputs_read = true;
  if (ev.url.empty()) return true;
  // Records are written by nlohmann::json, which escapes no character a normalized URL has:
  // a line that names the URL holds it quoted, as written here.
  const std::string needle = in_quotes(ev.url);
  for (const auto& f : files) {
    ev.files.push_back(f);
    const auto read = sink::for_each_line(f, [&](std::string_view line) {
      if (line.find(needle) == std::string_view::npos) return;
      auto j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) return;
      if (string_field(j, "url") == ev.url) {
        ev.records.push_back(std::move(j));
        ev.record_files.push_back(f);
        return;
      }
      const auto links = j.find("links");
      if (links == j.end() || !links->is_array()) return;
      if (std::find(links->begin(), links->end(), ev.url) == links->end()) return;
      ++ev.linked_from_total;
      if (ev.linked_from.size() < max_linking_pages) {
        ev.linked_from.push_back({string_field(j, "url"), static_cast<int>(int_field(j, "depth")),
                                  j.value("nofollow", false), looks_like_sitemap(j)});
      }
    });
    if (!read.error.empty()) {
      error = read.error;
      return false;
    }
  }
  return true;
}

std::vector<std::string> read_state(const state::crawl_state& st, evidence& ev) {
  ev.state_read = true;
  ev.finished = st.finished();
  if (auto text = st.get_meta("config")) {
    auto doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object()) {
      auto loaded = config::from_json(doc);
      if (loaded.ok() && !ev.config) ev.config = std::move(loaded.config);
    }
  }
  if (auto text = st.get_meta("stats")) {
    auto doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && doc.contains("pages") && doc["pages"].is_number_unsigned())
      ev.pages_recorded = doc["pages"].get<std::uint64_t>();
  }
  if (!ev.url.empty()) {
    ev.admitted = st.find(ev.url);
    if (!ev.admitted) ev.dropped = st.find_dropped(frontier::url_hash(ev.url));
    if (auto row = st.visit(ev.url)) ev.visit_row = std::string(*row);
    if (ev.admitted && !ev.admitted->done) {
      // A resumed crawl queues its host's pending URLs in admission order.
      const std::string host = host_key_of(ev.url);
      bool before = true;
      st.for_each_url([&](std::string_view u, bool done) {
        if (u == ev.url) before = false;
        if (done || host_key_of(u) != host) return;
        ++ev.host_pending;
        if (before) ++ev.host_position;
      });
    }
  }
  return state_outputs(st);
}

std::vector<std::string> state_outputs(const state::crawl_state& st) {
  std::vector<std::string> outputs;
  auto listed = json::parse(st.get_meta("outputs").value_or("[]"), nullptr, false);
  if (!listed.is_array() || listed.empty()) {
    listed = json::array();
    if (auto one = st.get_meta("output.path")) listed.push_back(*one);
  }
  for (const auto& o : listed) {
    if (!o.is_string() || o.get<std::string>() == "-") continue;
    const std::string path = o.get<std::string>();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::string error;
      std::size_t open_parts = 0;
      for (auto& f : sink::output_files(path, error, open_parts)) {
        if (error.empty()) outputs.push_back(std::move(f));
      }
      // The open segment is being written: its lines are read too (the last may be torn).
      for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end;
           it.increment(ec)) {
        if (it->path().filename().string().ends_with(".part"))
          outputs.push_back(it->path().string());
      }
    } else if (std::filesystem::is_regular_file(path, ec)) {
      outputs.push_back(path);
    }
  }
  return outputs;
}

namespace {

std::string duration_text(recrawl::millis ms) {
  char buf[64];
  if (ms >= 86400000) {
    std::snprintf(buf, sizeof buf, "%.1f days", static_cast<double>(ms) / 86400000.0);
  } else if (ms >= 3600000) {
    std::snprintf(buf, sizeof buf, "%.1f hours", static_cast<double>(ms) / 3600000.0);
  } else if (ms >= 60000) {
    std::snprintf(buf, sizeof buf, "%.1f minutes", static_cast<double>(ms) / 60000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  }
  return buf;
}

std::string time_text(recrawl::millis t) {
  return record::rfc3339_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(t)));
}

// Recrawl: what the visit row says (visits, last change, next visit), added to an answer.
void add_visits(answer& a, const recrawl::visit_row& v) {
  json j = {{"visits", v.visits},
            {"changes", v.changes},
            {"indexed", v.indexed},
            {"gone", v.gone},
            {"gone_reason", v.gone ? json(recrawl::gone_reason_name(v.reason)) : json(nullptr)},
            {"interval_ms", v.interval},
            {"last_visit_at", time_text(v.last_visit)},
            {"last_changed_at", v.last_change ? json(time_text(v.last_change)) : json(nullptr)},
            {"next_visit_at", time_text(v.next_due)},
            {"etag", v.etag.empty() ? json(nullptr) : json(v.etag)},
            {"last_modified",
             v.last_modified ? json(recrawl::imf_fixdate(v.last_modified)) : json(nullptr)}};
  std::string s = " Recrawl: visited " + std::to_string(v.visits) +
                  (v.visits == 1 ? " time" : " times") + ", last at " + time_text(v.last_visit);
  if (v.last_change) {
    s += "; last changed at " + time_text(v.last_change) + " (" + std::to_string(v.changes) +
         (v.changes == 1 ? " change" : " changes") + " seen after its first copy)";
  }
  if (v.gone) {
    s += "; it is gone (" + std::string(recrawl::gone_reason_name(v.reason)) +
         "), and is checked again every " + duration_text(v.interval);
  } else if (v.indexed) {
    s += "; it is indexed";
  } else {
    s += "; it has no indexed copy";
  }
  s += "; next visit due at " + time_text(v.next_due) + " (interval " + duration_text(v.interval) +
       ")";
  if (!v.etag.empty() || v.last_modified) {
    s += "; revisits ask conditionally with";
    if (!v.etag.empty()) s += " If-None-Match " + v.etag;
    if (!v.etag.empty() && v.last_modified) s += " and";
    if (v.last_modified) s += " If-Modified-Since " + recrawl::imf_fixdate(v.last_modified);
  }
  s += ".";
  a.text += s;
  a.json["explanation"] = a.text;
  a.json["visits"] = std::move(j);
}

}  // namespace

answer explain(const evidence& ev) {
  answer a = explain_fate(ev);
  if (ev.visit_row) {
    if (auto row = recrawl::decode(*ev.visit_row)) add_visits(a, *row);
  }
  return a;
}

answer explain_fate(const evidence& ev) {
  json j = {{"url", ev.asked}, {"normalized", ev.url.empty() ? json(nullptr) : json(ev.url)}};
  j["sources"] = {{"outputs", ev.files}, {"state", ev.state_read}, {"live", ev.live.has_value()}};
  if (ev.url.empty()) {
    return make("not_a_url", in_quotes(ev.asked) + " is not an http(s) URL: no crawl fetches it.",
                j);
  }
  const std::string& u = ev.url;
  std::string lead = u;
  if (ev.asked != u) lead += " (normalized from " + in_quotes(ev.asked) + ")";
  j["records"] = ev.records.size();
  j["linked_from"] = linking_json(ev);
  j["linked_from_total"] = ev.linked_from_total;

  const bool requeued = ev.admitted && !ev.admitted->done;
  // The last record is the latest outcome (a resumed run appends after the runs before).
  if (!ev.records.empty() &&
      !(requeued && ev.records.back().contains("error") && ev.records.back()["error"].is_object() &&
        string_field(ev.records.back()["error"], "kind") == "cancelled")) {
    const json& r = ev.records.back();
    j["record"] = r;
    j["record_file"] = ev.record_files.back();
    const json& err = r.contains("error") ? r["error"] : json(nullptr);
    const std::string kind = err.is_object() ? string_field(err, "kind") : std::string();
    const std::string message = err.is_object() ? string_field(err, "message") : std::string();
    const std::string where = " Its record is in " + ev.record_files.back() + ".";
    if (kind == "robots") {
      return make(
          "robots",
          lead + " was not fetched: robots.txt refused it (" + message + ")." + found_on(r) + where,
          j);
    }
    if (kind == "blocked_address") {
      return make("blocked_address",
                  lead + " was not fetched: the address policy refused its host's address (" +
                      message + "; network.allow_private lets private addresses through)." +
                      found_on(r) + where,
                  j);
    }
    if (kind == "cancelled") {
      return make("cancelled",
                  lead + " was being fetched when the crawl stopped, and was cancelled (" +
                      message + "); a resume with the crawl's state dir fetches it again." +
                      found_on(r) + where,
                  j);
    }
    if (r.contains("status") && r["status"].is_number()) {
      const int status = static_cast<int>(int_field(r, "status"));
      j["broken"] = is_http_error(status);
      if (is_http_error(status)) {
        // The server answered, with an error: for the pages linking it, a broken link.
        std::string text = lead + " was fetched: " + status_text(status) +
                           " \u2014 a broken link (" + response_facts(r) + ").";
        if (r.value("truncated", false)) text += " Its body was cut at limits.max_body_bytes.";
        return make("fetched", text + broken_linking_text(ev) + found_on(r) + where, j);
      }
      std::string text = lead + " was fetched: " + response_text(r) + ".";
      const std::string redirect = string_field(r, "redirect");
      if (!redirect.empty()) text += " It redirects to " + redirect + ".";
      if (kind == "redirect_limit") text += " The redirect was not followed: " + message + ".";
      if (r.value("truncated", false)) text += " Its body was cut at limits.max_body_bytes.";
      return make("fetched", text + found_on(r) + where, j);
    }
    return make("failed",
                lead + " was tried and failed after " + std::to_string(int_field(r, "attempts")) +
                    " attempt" + (int_field(r, "attempts") == 1 ? "" : "s") + ": " + kind + ", " +
                    message + "." + found_on(r) + where,
                j);
  }
  const std::string cancelled_note =
      ev.records.empty() ? ""
                         : " An earlier run recorded it as cancelled at a stop (in " +
                               ev.record_files.back() + ").";

  if (ev.admitted) {
    j["depth"] = ev.admitted->depth;
    j["referrer"] = ev.admitted->referrer.empty() ? json(nullptr) : json(ev.admitted->referrer);
  }
  const std::string admitted_on =
      ev.admitted ? found_on(ev.admitted->depth, ev.admitted->referrer) : std::string();

  if (ev.live) {
    const json& live = *ev.live;
    j["live"] = live;
    if (live.contains("queued") && live["queued"].is_object()) {
      const json& q = live["queued"];
      const json& host = live.value("host", json::object());
      std::string text = lead + " is queued";
      if (q.value("retry", false)) {
        text += ", waiting to be tried again in " +
                ms_text(static_cast<double>(int_field(q, "retry_in_ms"))) +
                " (retries with backoff)";
      } else {
        text += ": " + std::to_string(int_field(q, "position")) + " of the " +
                std::to_string(int_field(q, "of")) + " URLs waiting on its host " +
                string_field(host, "host") + " come before it";
      }
      text += ".";
      return make("queued", text + host_wait_text(host, live) + admitted_on + cancelled_note, j);
    }
    if (live.value("seen", false) && requeued) {
      return make("in_flight",
                  lead +
                      " is being fetched now (or parsed, or its record is about to be written)." +
                      admitted_on,
                  j);
    }
  }

  if (ev.admitted && ev.admitted->done) {
    std::string text = lead +
                       " was fetched and recorded (the state marks it done), but its record "
                       "is not in the outputs read";
    text += ev.files.empty() ? " (none)." : ".";
    return make("fetched", text + admitted_on, j);
  }
  if (ev.admitted) {
    j["queue"] = {{"position", ev.host_position}, {"of", ev.host_pending}};
    std::string text = lead + " is queued, not fetched yet: " + std::to_string(ev.host_position) +
                       " of the " + std::to_string(ev.host_pending) + " URLs waiting on its host " +
                       host_key_of(u) + " come before it.";
    const auto max_pages = ev.config ? ev.config->scope.max_pages : 0;
    if (max_pages > 0 && ev.pages_recorded &&
        *ev.pages_recorded >= static_cast<std::uint64_t>(max_pages)) {
      text +=
          " The crawl reached scope.max_pages (" + std::to_string(max_pages) + ") before its turn.";
    } else if (ev.config && ev.config->scope.max_pages_per_host > 0) {
      text += " The crawl stopped before its turn, or its host spent scope.max_pages_per_host (" +
              std::to_string(ev.config->scope.max_pages_per_host) + ").";
    } else {
      text += " The crawl stopped before its turn; a resume with this state dir fetches it.";
    }
    return make("queued", text + admitted_on + cancelled_note, j);
  }

  if (ev.dropped) {
    const auto [why, rule] = rule_text(ev, ev.dropped->reason, ev.dropped->rule, ev.dropped->depth);
    j["rule"] = rule;
    j["depth"] = ev.dropped->depth;
    j["referrer"] = ev.dropped->referrer.empty() ? json(nullptr) : json(ev.dropped->referrer);
    std::string text = lead + " was never queued: " +
                       (ev.dropped->reason == state::drop_reason::nofollow
                            ? "the crawl did not follow it, because "
                            : "the crawl filtered it, because ") +
                       why + ".";
    if (!ev.dropped->referrer.empty())
      text += " It was first found at depth " + std::to_string(ev.dropped->depth) + " on " +
              ev.dropped->referrer + ".";
    return make(ev.dropped->reason == state::drop_reason::nofollow ? "not_followed" : "filtered",
                text, j);
  }

  // Neither admitted nor dropped (or no state to say): what the outputs and the rules tell.
  const bool all_nofollow = !ev.linked_from.empty() &&
                            ev.linked_from.size() == ev.linked_from_total &&
                            std::all_of(ev.linked_from.begin(), ev.linked_from.end(),
                                        [](const linking_page& p) { return p.nofollow; });
  const bool follow_nofollow = ev.config && ev.config->fetch.follow_nofollow;
  if (all_nofollow && !follow_nofollow) {
    return make("not_followed",
                lead +
                    " was never queued: only pages marked nofollow link it, and their links "
                    "are not followed (fetch.follow_nofollow)." +
                    linking_text(ev),
                j);
  }
  if (ev.config && !ev.linked_from.empty()) {
    int depth = ev.linked_from.front().depth;
    for (const auto& p : ev.linked_from) depth = std::min(depth, p.depth);
    if (auto out = judge(*ev.config, u, depth + 1)) {
      const auto [why, rule] = rule_text(ev, out->reason, out->rule, depth + 1);
      j["rule"] = rule;
      j["depth"] = depth + 1;
      return make("filtered",
                  lead + " was never queued: the crawl's scope refuses it, because " + why +
                      " (judged now from the config" +
                      (ev.state_read ? "" : "; a state dir would keep the crawl's own reason") +
                      ")." + linking_text(ev),
                  j);
    }
  }
  if (!ev.linked_from.empty()) {
    const bool sitemap = std::any_of(ev.linked_from.begin(), ev.linked_from.end(),
                                     [](const linking_page& p) { return p.sitemap; });
    std::string text = lead + " was never queued, although a page links it:";
    text += sitemap ? " its sitemap may have listed it past sitemaps.max_urls, or" : "";
    text += " the link may be rel=nofollow, or it was found after the crawl stopped taking links.";
    return make("never_seen", text + linking_text(ev), j);
  }
  std::string text = lead + " was never seen: no page of the outputs read links it";
  text += ev.state_read ? ", and the crawl's state never admitted nor dropped it." : ".";
  if (ev.config) {
    if (auto out = judge(*ev.config, u, 1)) {
      const auto [why, rule] = rule_text(ev, out->reason, out->rule, 1);
      j["rule"] = rule;
      text += " Linked from a seed, it would be filtered: " + why + ".";
    } else {
      text += " Linked from a page within scope.max_depth, the scope would admit it.";
    }
  }
  return make("never_seen", text, j);
}

}  // namespace trawler::explain
