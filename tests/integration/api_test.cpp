// The control API end to end: `trawler serve --listen 127.0.0.1:0` as a child process, driven
// over real HTTP by a small socket client, crawling the in-process test server.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "crawl_harness.hpp"
#include "support/redis_server.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ---- a minimal HTTP/1.1 client -----------------------------------------------------------------

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string raw;

  json body_json() const {
    auto j = json::parse(body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << body;
    return j;
  }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class socket_fd {
 public:
  explicit socket_fd(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{20, 0};  // a hung server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;

  bool connected() const { return connected_; }
  void send_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
  // Reads until the peer closes (or the timeout).
  std::string read_all() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Reads until `out` holds `marker` (or the peer closes, or the timeout).
  std::string read_until(const std::string& marker) {
    std::string out;
    char buf[4096];
    while (out.find(marker) == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// One response from the front of `raw` (Content-Length framing, which the service always
// uses); `rest` gets what follows it.
http_reply parse_reply(const std::string& raw, std::string* rest = nullptr) {
  http_reply r;
  r.raw = raw;
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  if (line.rfind("HTTP/1.", 0) == 0 && line.size() >= 12) r.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  std::size_t length = raw.size() - head_end - 4;
  if (r.headers.count("content-length")) length = std::stoul(r.headers["content-length"]);
  r.body = raw.substr(head_end + 4, length);
  if (rest) *rest = raw.substr(std::min(raw.size(), head_end + 4 + length));
  return r;
}

std::string request_text(const std::string& method, const std::string& target,
                         const std::string& body, const std::vector<std::string>& headers,
                         bool close = true) {
  std::string s = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) s += h + "\r\n";
  if (!body.empty() || method == "POST")
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) s += "Connection: close\r\n";
  return s + "\r\n" + body;
}

http_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body = "", std::vector<std::string> headers = {}) {
  socket_fd s(port);
  EXPECT_TRUE(s.connected());
  const bool typed = std::any_of(headers.begin(), headers.end(), [](const std::string& h) {
    return h.size() > 13 && strncasecmp(h.c_str(), "content-type:", 13) == 0;
  });
  if (!body.empty() && !typed) headers.push_back("Content-Type: application/json");
  s.send_all(request_text(method, target, body, headers));
  return parse_reply(s.read_all());
}

// ---- the service under test --------------------------------------------------------------------

class service {
 public:
  // `config` is the serve config file's content (api.data_dir is added when missing).
  explicit service(std::string data_dir, json config = json::object(),
                   std::vector<std::string> extra_args = {})
      : data_dir_(std::move(data_dir)) {
    config["api"]["data_dir"] = data_dir_;
    token_ = config["api"].value("token", "");
    static int n = 0;
    config_path_ = data_dir_ + ".serve" + std::to_string(++n) + ".json";
    std::ofstream(config_path_) << config.dump();
    std::vector<std::string> argv{trawler_binary(), "serve", "--config", config_path_};
    if (std::find(extra_args.begin(), extra_args.end(), "--listen") == extra_args.end()) {
      argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    proc_.emplace(start_process(argv));
    const std::string marker = "listening on http://127.0.0.1:";
    bool up = proc_->wait_for_output(
        [&](const std::string&, const std::string& err) {
          auto at = err.find(marker);
          return at != std::string::npos && err.find('\n', at) != std::string::npos;
        },
        20s);
    std::string err = proc_->err_so_far();
    if (up)
      port_ = static_cast<std::uint16_t>(std::stoi(err.substr(err.find(marker) + marker.size())));
  }

  bool up() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }
  running_process& proc() { return *proc_; }
  const std::string& data_dir() const { return data_dir_; }

  // A call with the configured token (if any).
  http_reply call(const std::string& method, const std::string& target,
                  const std::string& body = "") {
    std::vector<std::string> headers;
    if (!token_.empty()) headers.push_back("Authorization: Bearer " + token_);
    return http_call(port_, method, target, body, headers);
  }

  // A call with the configured token and the body's Content-Type.
  http_reply call_typed(const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type) {
    std::vector<std::string> headers{"Content-Type: " + content_type};
    if (!token_.empty()) headers.push_back("Authorization: Bearer " + token_);
    return http_call(port_, method, target, body, headers);
  }

  std::string create(const json& cfg) {
    auto r = call("POST", "/v1/crawls", cfg.dump());
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body_json().value("id", "");
  }

  json get(const std::string& id) {
    auto r = call("GET", "/v1/crawls/" + id);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body_json();
  }

  // Polls GET /v1/crawls/{id} until pred holds; returns the last view.
  json wait_for(const std::string& id, const std::function<bool(const json&)>& pred,
                std::chrono::milliseconds timeout = 60s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    json v;
    for (;;) {
      v = get(id);
      if (pred(v) || std::chrono::steady_clock::now() > deadline) return v;
      std::this_thread::sleep_for(50ms);
    }
  }

  process_result stop(int sig = SIGTERM) {
    proc_->signal(sig);
    return proc_->wait(30s);
  }

 private:
  std::string data_dir_;
  std::string token_;
  std::string config_path_;
  std::optional<running_process> proc_;
  std::uint16_t port_ = 0;
};

std::string page(const std::vector<std::string>& hrefs) {
  std::string html = "<!doctype html><html><head><title>t</title></head><body>";
  for (const auto& h : hrefs) html += "<a href=\"" + h + "\">x</a>";
  return html + "</body></html>";
}

// /p0 -> /p1 -> ... -> /p{n-1}, each answered after `delay`: a crawl that takes a while
// and goes one page at a time.
void add_slow_chain(test_server& s, int n, std::chrono::milliseconds delay) {
  for (int i = 0; i < n; ++i) {
    response r;
    r.body = page(i + 1 < n ? std::vector<std::string>{"/p" + std::to_string(i + 1)}
                            : std::vector<std::string>{});
    r.delay = delay;
    s.add_page("/p" + std::to_string(i), r);
  }
}

json crawl_config(const std::string& seed) {
  return {{"seeds", {seed}}, {"network", {{"allow_private", true}}}};
}

// For a slow chain: deep enough to reach its end.
json chain_config(const std::string& seed) {
  json c = crawl_config(seed);
  c["scope"] = {{"max_depth", 1000}};
  return c;
}

std::vector<json> read_records(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not a whole JSON line: " << line;
    out.push_back(std::move(j));
  }
  return out;
}

std::uint64_t stat_pages(const json& view) {
  return view.at("stats").at("pages").get<std::uint64_t>();
}

// The value of the sample `name{labels}` in Prometheus text, or nullopt.
std::optional<double> metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Validates a JSON document against a schema in proto-free-api/ with python3-jsonschema.
std::string validate_against(const json& doc, const std::string& schema_name,
                             const std::string& dir) {
  std::string file = dir + "/instance-" + schema_name;
  std::ofstream(file) << doc.dump();
  std::string schema = std::string(TRAWLER_SOURCE_DIR) + "/proto-free-api/" + schema_name;
  std::string script =
      "import json,sys,jsonschema\n"
      "v=jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))\n"
      "errs=[e.message for e in v.iter_errors(json.load(open(sys.argv[2])))]\n"
      "print('\\n'.join(errs[:5]))\n"
      "sys.exit(1 if errs else 0)\n";
  auto r = run_process({"python3", "-c", script, schema, file});
  return r.exit_code == 0 ? "" : r.out + r.err;
}

// ---- tests
// ---------------------------------------------------------------------------------------

// Segments under the service: output.dir is a folder inside the crawl's folder, reported as the
// crawl's output, and every segment there is closed when the crawl completes.
TEST(Api, CrawlWritesRotatedSegmentsInItsFolder) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 30; ++i) links.push_back("/p" + std::to_string(i));
  s.add_html("/", page(links));
  for (const auto& l : links) s.add_html(l, page({"/"}));
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = crawl_config(b + "/");
  cfg["output"] = {
      {"dir", "segments"}, {"rotate_bytes", 2000}, {"compress", "gzip"}, {"warc", "archive"}};
  auto created = svc.call("POST", "/v1/crawls", cfg.dump());
  ASSERT_EQ(created.status, 201) << created.raw;
  std::string id = created.body_json().at("id");
  json v = svc.wait_for(id, [](const json& j) { return j.at("state") != "running"; });
  ASSERT_EQ(v.at("state"), "completed") << v.dump();
  const std::string folder = dir.path() + "/data/" + id + "/segments";
  EXPECT_EQ(v.at("output"), folder);
  EXPECT_EQ(v.at("config").at("output").at("dir"), folder);
  EXPECT_FALSE(fs::exists(dir.path() + "/data/" + id + "/records.jsonl"));
  std::set<std::string> urls;
  int files = 0;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name.ends_with(".jsonl.gz")) << name;
    ++files;
    auto text = run_process({"gzip", "-dc", e.path().string()});
    ASSERT_EQ(text.exit_code, 0) << name << text.err;
    std::istringstream in(text.out);
    std::string line;
    while (std::getline(in, line)) urls.insert(json::parse(line).at("url").get<std::string>());
  }
  EXPECT_GE(files, 2);
  EXPECT_EQ(urls.size(), 31u);
  // The archive is in the crawl's folder too, published.
  EXPECT_EQ(v.at("config").at("output").at("warc"), dir.path() + "/data/" + id + "/archive");
  EXPECT_TRUE(fs::exists(dir.path() + "/data/" + id + "/archive/trawler-000001.warc.gz"));

  json bad = crawl_config(b + "/");
  bad["output"] = {{"dir", "../outside"}};
  auto refused = svc.call("POST", "/v1/crawls", bad.dump());
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_EQ(refused.body_json().at("error").value("key", ""), "output.dir");
}

TEST(Api, CrawlRunsToCompletionAndRecordsEveryPage) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page({"/a", "/b", "/missing"}));
  s.add_html("/a", page({"/c", "/"}));
  s.add_html("/b", page({}));
  s.add_html("/c", page({"/a"}));
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();

  EXPECT_EQ(svc.call("GET", "/healthz").body_json(), json({{"status", "ok"}}));
  auto created = svc.call("POST", "/v1/crawls", crawl_config(b + "/").dump());
  ASSERT_EQ(created.status, 201) << created.raw;
  std::string id = created.body_json().at("id");
  EXPECT_EQ(created.body_json().at("state"), "running");
  EXPECT_EQ(created.header("location"), "/v1/crawls/" + id);

  json v = svc.wait_for(id, [](const json& j) { return j.at("state") != "running"; });
  ASSERT_EQ(v.at("state"), "completed") << v.dump();
  EXPECT_TRUE(v.contains("finished_at"));
  std::string output = v.at("output");
  EXPECT_EQ(output, dir.path() + "/data/" + id + "/records.jsonl");
  EXPECT_TRUE(fs::path(output).is_absolute());
  EXPECT_EQ(v.at("config").at("output").at("path"), output);
  EXPECT_EQ(v.at("config").at("state").at("dir"), dir.path() + "/data/" + id + "/state");
  EXPECT_FALSE(v.at("config").contains("api"));  // the service's settings stay private

  auto records = read_records(output);
  std::map<std::string, int> status_by_url;
  for (const auto& r : records) status_by_url[r.at("url")] = r.at("status").get<int>();
  EXPECT_EQ(status_by_url, (std::map<std::string, int>{{b + "/", 200},
                                                       {b + "/a", 200},
                                                       {b + "/b", 200},
                                                       {b + "/c", 200},
                                                       {b + "/missing", 404}}));
  EXPECT_EQ(records.size(), 5u);
  EXPECT_EQ(validate_records_against_schema(output), "");

  EXPECT_EQ(stat_pages(v), 5u);
  EXPECT_EQ(v.at("stats").at("status").at("2xx"), 4);
  EXPECT_EQ(v.at("stats").at("status").at("4xx"), 1);
  EXPECT_EQ(v.at("stats").at("queued"), 0);
  EXPECT_EQ(validate_against(v.at("stats"), "stats.schema.json", dir.path()), "");
  EXPECT_EQ(validate_against(v.at("config"), "config.schema.json", dir.path()), "");

  // The list shows it too, and crawl.json keeps it for a restart.
  auto list = svc.call("GET", "/v1/crawls").body_json();
  ASSERT_EQ(list.at("crawls").size(), 1u);
  EXPECT_EQ(list.at("crawls")[0].at("id"), id);
  EXPECT_EQ(list.at("crawls")[0].at("state"), "completed");
  std::ifstream meta(dir.path() + "/data/" + id + "/crawl.json");
  json saved = json::parse(meta, nullptr, false);
  EXPECT_EQ(saved.value("state", ""), "completed");
  EXPECT_EQ(saved.at("stats").at("pages"), 5);

  // /metrics: Prometheus text with this crawl's numbers.
  auto m = svc.call("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_EQ(metric(m.body, "trawler_pages_total{crawl=\"" + id + "\"}"), 5.0) << m.body;
  EXPECT_EQ(metric(m.body, "trawler_responses_total{crawl=\"" + id + "\",class=\"4xx\"}"), 1.0);
  EXPECT_EQ(metric(m.body, "trawler_crawls{state=\"completed\"}"), 1.0);
  EXPECT_EQ(metric(m.body, "trawler_frontier_queued{crawl=\"" + id + "\"}"), 0.0);
  // Every page fetch is in the fetch-duration histogram.
  EXPECT_EQ(metric(m.body, "trawler_fetch_duration_seconds_count{crawl=\"" + id + "\"}"), 5.0);
  EXPECT_NE(m.body.find("# TYPE trawler_fetch_duration_seconds histogram"), std::string::npos);

  auto r = svc.stop();
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Api, BadRequestsNameTheProblem) {
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  auto key_of = [](const http_reply& r) { return r.body_json().at("error").value("key", ""); };

  json bad = crawl_config("http://127.0.0.1:9/");
  bad["limits"] = {{"concurrency", "fast"}};
  auto r = svc.call("POST", "/v1/crawls", bad.dump());
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(key_of(r), "limits.concurrency");

  for (const char* path : {"/etc/passwd", "../escape.jsonl", "a/../../escape.jsonl"}) {
    json c = crawl_config("http://127.0.0.1:9/");
    c["output"] = {{"path", path}};
    r = svc.call("POST", "/v1/crawls", c.dump());
    EXPECT_EQ(r.status, 400) << path << r.raw;
    EXPECT_EQ(key_of(r), "output.path") << path;
  }
  json st = crawl_config("http://127.0.0.1:9/");
  st["state"] = {{"dir", "/tmp"}};
  r = svc.call("POST", "/v1/crawls", st.dump());
  EXPECT_EQ(key_of(r), "state.dir");

  // A cluster crawl keeps its state in Redis: a state dir with it is refused, naming the key.
  json cl = crawl_config("http://127.0.0.1:9/");
  cl["cluster"] = {{"redis", "redis://127.0.0.1:6379"}};
  cl["state"] = {{"dir", "state"}};
  r = svc.call("POST", "/v1/crawls", cl.dump());
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(key_of(r), "state.dir");
  // Without cluster, no seed is no crawl.
  r = svc.call("POST", "/v1/crawls", json({{"network", {{"allow_private", true}}}}).dump());
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(key_of(r), "seeds");

  r = svc.call("POST", "/v1/crawls", crawl_config("ftp://nope/").dump());
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(key_of(r), "seeds[0]");
  r = svc.call("POST", "/v1/crawls", json({{"network", {{"allow_private", true}}}}).dump());
  EXPECT_EQ(key_of(r), "seeds");
  r = svc.call("POST", "/v1/crawls", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(key_of(r), "config");
  // Nothing was created by any of these, and no folder was left behind.
  EXPECT_EQ(svc.call("GET", "/v1/crawls").body_json().at("crawls").size(), 0u);
  std::size_t folders = 0;
  for (const auto& e : fs::directory_iterator(svc.data_dir())) folders += e.is_directory();
  EXPECT_EQ(folders, 0u);

  r = http_call(svc.port(), "POST", "/v1/crawls", crawl_config("http://x/").dump(),
                {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 415) << r.raw;
  r = svc.call("GET", "/v1/crawls/000000000000");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body_json().at("error").contains("message"));
  r = svc.call("POST", "/v1/crawls/000000000000/resume");
  EXPECT_EQ(r.status, 404);
  r = svc.call("GET", "/v2/nothing");
  EXPECT_EQ(r.status, 404);
  r = svc.call("DELETE", "/v1/crawls");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "POST, GET");
  EXPECT_EQ(svc.stop().exit_code, 0);
}

// config/site-crawl.yaml, the example a new user starts from, posted as it is but for its
// seed: the service reads it as `trawler crawl -c` reads the file, and the crawl runs with its
// settings. A YAML config with mistakes comes back with every problem and its key path.
TEST(Api, CreatesACrawlFromTheYamlExampleAndListsEveryYamlError) {
  test_server s;
  const std::string b = s.base_url();
  s.add_html("/", page({"/a", "/b"}));
  s.add_html("/a", page({"/"}));
  s.add_html("/b", page({"/a"}));
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();

  std::ifstream in(std::string(TRAWLER_SOURCE_DIR) + "/config/site-crawl.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string example_seed = "  - https://example.com/\n";
  const auto at = yaml.find(example_seed);
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.replace(at, example_seed.size(), "  - " + b + "/\n");
  yaml += "network:\n  allow_private: true   # the test site is on loopback\n";

  auto created = svc.call_typed("POST", "/v1/crawls", yaml, "application/yaml");
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = created.body_json().at("id");
  const json v = svc.wait_for(id, [](const json& j) { return j.at("state") != "running"; });
  ASSERT_EQ(v.at("state"), "completed") << v.dump();
  EXPECT_EQ(stat_pages(v), 3u) << v.dump();
  const json& cfg = v.at("config");
  EXPECT_EQ(cfg.at("seeds"), json::array({b + "/"}));
  EXPECT_EQ(cfg.at("limits").at("delay_ms"), 500);
  EXPECT_EQ(cfg.at("limits").at("per_host"), 1);
  EXPECT_EQ(cfg.at("scope").at("exclude"), json::array({"[?&](sort|order|sessionid)="}));
  EXPECT_EQ(cfg.at("robots").at("user_agent"), "trawler/0.1 (+https://example.com/contact)");
  EXPECT_EQ(cfg.at("output").at("fields"), json::array({"links", "title", "canonical"}));
  // output.path "example.jsonl" is taken inside the crawl's folder.
  EXPECT_EQ(v.at("output"), dir.path() + "/data/" + id + "/example.jsonl");
  EXPECT_EQ(read_records(v.at("output")).size(), 3u);

  // A misspelt key, a bad value and no seed: all three, each with its key path.
  auto bad = svc.call_typed("POST", "/v1/crawls", "limits:\n  concurency: 4\n  per_host: -1\n",
                            "text/yaml");
  ASSERT_EQ(bad.status, 400) << bad.raw;
  json errors = bad.body_json().at("errors");
  ASSERT_EQ(errors.size(), 3u) << bad.raw;
  EXPECT_EQ(errors[0], json({{"key", "limits.concurency"},
                             {"message", "unknown key; did you mean \"limits.concurrency\"?"}}));
  EXPECT_EQ(errors[1].at("key"), "limits.per_host");
  EXPECT_EQ(errors[2], json({{"key", "seeds"}, {"message", "at least one seed URL is required"}}));
  // A syntax error names the line.
  bad =
      svc.call_typed("POST", "/v1/crawls", "seeds: [" + b + "/\nlimits: {}\n", "application/yaml");
  ASSERT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.body_json().at("error").at("key"), "config");
  EXPECT_NE(bad.body_json().at("error").at("message").get<std::string>().find("line "),
            std::string::npos)
      << bad.raw;
  // Nothing else was created.
  EXPECT_EQ(svc.call("GET", "/v1/crawls").body_json().at("crawls").size(), 1u);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

// DELETE /v1/crawls/{id}: a finished crawl leaves the list, for good (a restarted service does not
// list it again), and its files stay unless ?files=true asks for its folder to go too. A crawl
// that still runs is not deleted.
TEST(Api, DeleteRemovesAFinishedCrawlAndKeepsItsFilesUnlessAsked) {
  test_server s;
  s.add_html("/", page({"/a"}));
  s.add_html("/a", page({"/"}));
  add_slow_chain(s, 300, 40ms);
  temp_dir dir;
  const std::string data = dir.path() + "/data";
  std::string kept, gone, live;
  {
    service svc(data);
    ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
    kept = svc.create(crawl_config(s.base_url() + "/"));
    gone = svc.create(crawl_config(s.base_url() + "/a"));
    live = svc.create(chain_config(s.base_url() + "/p0"));
    for (const auto& id : {kept, gone}) {
      const json v = svc.wait_for(id, [](const json& j) { return j.contains("finished_at"); });
      ASSERT_EQ(v.at("state"), "completed") << v.dump();
    }
    const std::string kept_output = svc.get(kept).at("output");
    ASSERT_TRUE(fs::exists(kept_output));

    auto r = svc.call("DELETE", "/v1/crawls/" + live);
    EXPECT_EQ(r.status, 409) << r.raw;
    EXPECT_NE(r.body_json().at("error").at("message").get<std::string>().find("cancel"),
              std::string::npos)
        << r.raw;
    EXPECT_EQ(svc.call("DELETE", "/v1/crawls/000000000000").status, 404);
    r = svc.call("DELETE", "/v1/crawls/" + kept + "?files=maybe");
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(r.body_json().at("error").at("key"), "files");

    r = svc.call("DELETE", "/v1/crawls/" + kept);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body_json(), json({{"id", kept}, {"files_deleted", false}}));
    EXPECT_EQ(svc.call("GET", "/v1/crawls/" + kept).status, 404);
    EXPECT_EQ(svc.call("DELETE", "/v1/crawls/" + kept).status, 404);
    EXPECT_EQ(read_records(kept_output).size(), 2u) << "its records stay";

    r = svc.call("DELETE", "/v1/crawls/" + gone + "?files=true");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body_json(), json({{"id", gone}, {"files_deleted", true}}));
    EXPECT_FALSE(fs::exists(data + "/" + gone));

    json list = svc.call("GET", "/v1/crawls").body_json().at("crawls");
    ASSERT_EQ(list.size(), 1u) << list.dump();
    EXPECT_EQ(list[0].at("id"), live);
    EXPECT_EQ(svc.call("POST", "/v1/crawls/" + live + "/cancel").status, 200);
    svc.wait_for(live, [](const json& j) { return j.contains("finished_at"); });
    EXPECT_EQ(svc.stop().exit_code, 0);
  }
  // Started again on the same data dir: the deleted crawls stay deleted, the files kept stay.
  service again(data);
  ASSERT_TRUE(again.up()) << again.proc().err_so_far();
  json list = again.call("GET", "/v1/crawls").body_json().at("crawls");
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0].at("id"), live);
  EXPECT_TRUE(fs::exists(data + "/" + kept + "/records.jsonl"));
  EXPECT_EQ(again.stop().exit_code, 0);
}

// GET /v1/crawls/{id}/report: the page `trawler report` writes for the crawl's output, byte for
// byte, served sandboxed; a running crawl's report covers the records so far.
TEST(Api, ReportOfACrawlIsWhatTrawlerReportWrites) {
  test_server s;
  s.add_html("/", page({"/a", "/missing"}));
  s.add_html("/a", page({"/", "/missing"}));
  response missing;
  missing.status = 404;
  missing.body = "gone";
  s.add_page("/missing", missing);
  add_slow_chain(s, 300, 40ms);
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "report-Token"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  const std::string id = svc.create(crawl_config(s.base_url() + "/"));
  const json v = svc.wait_for(id, [](const json& j) { return j.contains("finished_at"); });
  ASSERT_EQ(v.at("state"), "completed") << v.dump();

  auto r = svc.call("GET", "/v1/crawls/" + id + "/report");
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 500);
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("content-security-policy").rfind("sandbox allow-scripts;", 0), 0u);
  EXPECT_EQ(r.header("content-disposition"), "inline; filename=\"trawler-report-" + id + ".html\"");
  const std::string cli_page = dir.path() + "/cli-report.html";
  auto cli =
      run_process({trawler_binary(), "report", v.at("output").get<std::string>(), "-o", cli_page});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  std::ifstream in(cli_page);
  const std::string expected((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  EXPECT_EQ(r.body, expected);
  EXPECT_NE(r.body.find("3 records"), std::string::npos) << r.body.substr(0, 2000);
  EXPECT_NE(r.body.find(s.base_url() + "/missing"), std::string::npos) << "its broken link";

  // Without the token: 401, as every crawl call. An unknown crawl: 404.
  EXPECT_EQ(http_call(svc.port(), "GET", "/v1/crawls/" + id + "/report").status, 401);
  EXPECT_EQ(svc.call("GET", "/v1/crawls/000000000000/report").status, 404);

  // A running crawl: the records so far.
  const std::string live = svc.create(chain_config(s.base_url() + "/p0"));
  svc.wait_for(live, [](const json& j) { return stat_pages(j) >= 3; });
  r = svc.call("GET", "/v1/crawls/" + live + "/report");
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 500);
  const std::string tag = "<script type=\"application/json\" id=\"trawler-report\">";
  const auto at = r.body.find(tag);
  ASSERT_NE(at, std::string::npos);
  const auto end = r.body.find("</script>", at);
  const json summary =
      json::parse(r.body.substr(at + tag.size(), end - at - tag.size()), nullptr, false);
  ASSERT_TRUE(summary.is_object());
  EXPECT_GE(summary.value("records", 0), 3) << summary.dump().substr(0, 500);
  EXPECT_EQ(svc.call("POST", "/v1/crawls/" + live + "/cancel").status, 200);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

// GET /v1/crawls/{id}/records: the crawl's records file as it is, streamed (many buffers here), as
// a download; a running crawl's records so far, whole lines; segments are read where they are.
TEST(Api, RecordsDownloadIsTheCrawlsRecordsFile) {
  test_server s;
  std::vector<std::string> links;
  for (int i = 0; i < 400; ++i) links.push_back("/page-with-a-longish-name-" + std::to_string(i));
  s.add_html("/", page(links));
  for (const auto& l : links) s.add_html(l, page({"/"}));
  add_slow_chain(s, 300, 40ms);
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  const std::string id = svc.create(crawl_config(s.base_url() + "/"));
  const json v = svc.wait_for(id, [](const json& j) { return j.contains("finished_at"); });
  ASSERT_EQ(v.at("state"), "completed") << v.dump();

  auto r = svc.call("GET", "/v1/crawls/" + id + "/records");
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 500);
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(r.header("content-disposition"),
            "attachment; filename=\"trawler-records-" + id + ".jsonl\"");
  std::ifstream in(v.at("output").get<std::string>());
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(file.size(), 100000u);
  EXPECT_EQ(r.body.size(), file.size());
  EXPECT_TRUE(r.body == file);
  EXPECT_EQ(svc.call("GET", "/v1/crawls/000000000000/records").status, 404);

  // A running crawl: whole records so far.
  const std::string live = svc.create(chain_config(s.base_url() + "/p0"));
  svc.wait_for(live, [](const json& j) { return stat_pages(j) >= 3; });
  r = svc.call("GET", "/v1/crawls/" + live + "/records");
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 500);
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body.back(), '\n');
  std::istringstream lines(r.body);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    EXPECT_TRUE(json::parse(line, nullptr, false).is_object()) << line;
  }
  EXPECT_GE(n, 3u);
  EXPECT_EQ(svc.call("POST", "/v1/crawls/" + live + "/cancel").status, 200);

  // Segments: not one file.
  json seg = crawl_config(s.base_url() + "/p299");
  seg["output"] = {{"dir", "segments"}};
  const std::string segmented = svc.create(seg);
  svc.wait_for(segmented, [](const json& j) { return j.contains("finished_at"); });
  r = svc.call("GET", "/v1/crawls/" + segmented + "/records");
  EXPECT_EQ(r.status, 409) << r.raw;
  EXPECT_NE(r.body_json().at("error").at("message").get<std::string>().find("segments"),
            std::string::npos);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

// "A posted crawl config with cluster joins the crawl; GET /v1/crawls/{id} shows the crawl-wide
// counts beside the worker's own; /metrics has them too." A crawl posted without seeds waits
// for them; a `trawler crawl` worker seeds the same crawl; the two share a six-host site
// (each URL recorded once between them, every URL recorded), and the service shows both
// workers and the crawl-wide counts while it runs and when it has ended.
TEST(Api, ClusterCrawlPostedToTheServiceJoinsTheFleet) {
  redis_server redis;
  NEED_REDIS(redis);
  test_server site;
  const std::string port = std::to_string(site.port());
  std::vector<std::string> names;
  for (int h = 0; h < 6; ++h) names.push_back("h" + std::to_string(h) + ".test");
  auto origin = [&](const std::string& name) { return "http://" + name + ":" + port; };
  std::set<std::string> urls;
  json resolve = json::object();
  for (const auto& name : names) {
    resolve[name + ":" + port] = "127.0.0.1";
    for (int p = 0; p < 10; ++p) {
      std::vector<std::string> links;
      if (p + 1 < 10) links.push_back("/p" + std::to_string(p + 1));
      if (p == 0) {
        for (const auto& other : names) links.push_back(origin(other) + "/p0");
      }
      response r;
      r.body = page(links);
      r.delay = 60ms;
      site.add_page("/p" + std::to_string(p), r, name);
      urls.insert(origin(name) + "/p" + std::to_string(p));
    }
  }
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();

  json cfg = {{"network", {{"allow_private", true}, {"resolve", resolve}}},
              {"scope", {{"mode", "any"}, {"max_depth", 100}}},
              {"limits", {{"concurrency", 2}, {"per_host", 1}}},
              {"robots", {{"obey", false}}},
              {"cluster", {{"redis", redis.url()}, {"name", "svc"}}}};
  auto created = svc.call("POST", "/v1/crawls", cfg.dump());
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = created.body_json().at("id");
  // No seeds yet anywhere: the crawl waits for them rather than ending.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(svc.get(id).at("state"), "running");

  const std::string worker_out = dir.path() + "/worker.jsonl";
  std::vector<std::string> args = {trawler_binary(),
                                   "crawl",
                                   "--allow-private",
                                   "--no-progress",
                                   "--redis",
                                   redis.url(),
                                   "--crawl-name",
                                   "svc",
                                   "-o",
                                   worker_out,
                                   "--scope",
                                   "any",
                                   "--max-depth",
                                   "100",
                                   "--concurrency",
                                   "2",
                                   "--per-host",
                                   "1",
                                   "--no-robots"};
  args = concat(args, resolve_args(site, names));
  args.push_back(origin(names[0]) + "/p0");
  auto worker = start_process(args);

  // While it runs: both workers in the crawl-wide counts, in the API and in /metrics.
  const std::string label = "{crawl=\"" + id + "\"}";
  json running = svc.wait_for(id, [](const json& v) {
    return v.at("state") != "running" ||
           (v.at("stats").contains("cluster") && v.at("stats").at("cluster").at("workers") >= 2);
  });
  ASSERT_EQ(running.at("state"), "running") << running.dump();
  EXPECT_GE(running.at("stats").at("cluster").at("workers"), 2) << running.dump();
  EXPECT_EQ(validate_against(running.at("stats"), "stats.schema.json", dir.path()), "");
  auto m = svc.call("GET", "/metrics");
  EXPECT_GE(metric(m.body, "trawler_cluster_workers" + label).value_or(0), 2.0) << m.body;
  EXPECT_TRUE(metric(m.body, "trawler_cluster_seen_urls" + label).has_value()) << m.body;
  EXPECT_TRUE(metric(m.body, "trawler_cluster_hosts_owned_here" + label).has_value()) << m.body;

  auto wr = worker.wait(60s);
  EXPECT_EQ(wr.exit_code, 0) << wr.err;
  json done = svc.wait_for(id, [](const json& v) { return v.at("state") != "running"; });
  ASSERT_EQ(done.at("state"), "completed") << done.dump();
  EXPECT_FALSE(done.at("config").at("state").contains("dir") &&
               !done.at("config").at("state").at("dir").get<std::string>().empty())
      << "a cluster crawl keeps its state in Redis: " << done.dump();

  std::map<std::string, int> recorded;
  const auto service_records = read_jsonl(done.at("output"));
  for (const auto& r : service_records) ++recorded[r.at("url")];
  for (const auto& r : read_jsonl(worker_out)) ++recorded[r.at("url")];
  std::set<std::string> got;
  for (const auto& [url, n] : recorded) {
    EXPECT_EQ(n, 1) << url;
    got.insert(url);
  }
  EXPECT_EQ(got, urls);
  EXPECT_GT(service_records.size(), 0u) << "the service's worker took no share";
  EXPECT_EQ(stat_pages(done), service_records.size());
  EXPECT_EQ(done.at("stats").at("cluster").at("seen"), urls.size()) << done.dump();
  EXPECT_EQ(done.at("stats").at("cluster").at("queued"), 0);
  m = svc.call("GET", "/metrics");
  EXPECT_EQ(metric(m.body, "trawler_cluster_seen_urls" + label), static_cast<double>(urls.size()))
      << m.body;
  EXPECT_EQ(metric(m.body, "trawler_cluster_queued_urls" + label), 0.0) << m.body;
  EXPECT_EQ(metric(m.body, "trawler_pages_total" + label),
            static_cast<double>(service_records.size()));
  auto r = svc.stop();
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Api, PauseResumeCancelASlowCrawl) {
  test_server s;
  add_slow_chain(s, 60, 100ms);
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  std::string id = svc.create(chain_config(s.base_url() + "/p0"));
  ASSERT_FALSE(id.empty());
  std::string base = "/v1/crawls/" + id;

  svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 3; });
  auto r = svc.call("POST", base + "/pause");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body_json(), json({{"id", id}, {"state", "paused"}}));
  // The request open at the pause finishes; after that nothing moves.
  json settled = svc.wait_for(id, [](const json& v) { return v.at("stats").at("in_flight") == 0; });
  EXPECT_EQ(settled.at("state"), "paused");
  std::this_thread::sleep_for(300ms);
  std::uint64_t paused_at = stat_pages(svc.get(id));
  int hits_at = s.hits("/p" + std::to_string(paused_at));
  std::this_thread::sleep_for(1000ms);
  json still = svc.get(id);
  EXPECT_EQ(stat_pages(still), paused_at);
  EXPECT_EQ(s.hits("/p" + std::to_string(paused_at)), hits_at);
  EXPECT_EQ(still.at("state"), "paused");
  EXPECT_EQ(svc.call("POST", base + "/pause").status, 200);  // again: no change

  r = svc.call("POST", base + "/resume");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body_json().at("state"), "running");
  json moved = svc.wait_for(
      id, [&](const json& v) { return stat_pages(v) >= paused_at + 2; }, 20s);
  EXPECT_GE(stat_pages(moved), paused_at + 2);

  r = svc.call("POST", base + "/cancel");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body_json().at("state"), "cancelled");
  json done = svc.wait_for(
      id, [](const json& v) { return v.contains("finished_at"); }, 20s);
  EXPECT_EQ(done.at("state"), "cancelled");
  EXPECT_LT(stat_pages(done), 60u);
  EXPECT_EQ(done.at("stats").at("in_flight"), 0);
  // Records reached the file whole; nothing is fetched after the cancel.
  auto records = read_records(done.at("output"));
  EXPECT_GE(records.size(), stat_pages(done));
  auto requests = s.requests().size();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(s.requests().size(), requests);

  // A cancelled crawl cannot come back.
  r = svc.call("POST", base + "/resume");
  EXPECT_EQ(r.status, 409) << r.raw;
  EXPECT_FALSE(r.body_json().at("error").value("message", "").empty());
  EXPECT_EQ(svc.call("POST", base + "/pause").status, 409);
  EXPECT_EQ(
      svc.call("POST", base + "/seeds", json({{"urls", {s.base_url() + "/p59"}}}).dump()).status,
      409);
  EXPECT_EQ(svc.call("POST", base + "/cancel").status, 200);
  auto m = svc.call("GET", "/metrics").body;
  EXPECT_EQ(metric(m, "trawler_crawls{state=\"cancelled\"}"), 1.0);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

TEST(Api, SeedsAddedToARunningCrawlAreFetched) {
  test_server s;
  add_slow_chain(s, 15, 100ms);
  s.add_html("/extra", page({"/extra-child"}));
  s.add_html("/extra-child", page({}));
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  std::string id = svc.create(chain_config(s.base_url() + "/p0"));
  svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 1; });

  auto r = svc.call("POST", "/v1/crawls/" + id + "/seeds",
                    json({{"urls", {s.base_url() + "/extra", "ftp://nope/"}}}).dump());
  ASSERT_EQ(r.status, 200) << r.raw;
  json b = r.body_json();
  EXPECT_EQ(b.at("accepted"), 1);
  ASSERT_EQ(b.at("rejected").size(), 1u);
  EXPECT_EQ(b.at("rejected")[0].at("key"), "urls[1]");
  r = svc.call("POST", "/v1/crawls/" + id + "/seeds", json({{"urls", {"ftp://a/"}}}).dump());
  EXPECT_EQ(r.status, 400) << r.raw;
  r = svc.call("POST", "/v1/crawls/" + id + "/seeds", json({{"urls", "x"}}).dump());
  EXPECT_EQ(r.status, 400) << r.raw;

  json v = svc.wait_for(id, [](const json& j) { return j.at("state") != "running"; });
  ASSERT_EQ(v.at("state"), "completed") << v.dump();
  std::set<std::string> urls;
  for (const auto& rec : read_records(v.at("output"))) urls.insert(rec.at("url"));
  EXPECT_TRUE(urls.count(s.base_url() + "/extra"));
  EXPECT_TRUE(urls.count(s.base_url() + "/extra-child"));  // followed like any page
  EXPECT_TRUE(urls.count(s.base_url() + "/p14"));
  EXPECT_EQ(urls.size(), 17u);
  EXPECT_EQ(s.hits("/extra"), 1);
  // The added seed is part of the crawl's config now.
  EXPECT_EQ(v.at("config").at("seeds"), json({s.base_url() + "/p0", s.base_url() + "/extra"}));
  // Seeds for a finished crawl: 409.
  r = svc.call("POST", "/v1/crawls/" + id + "/seeds",
               json({{"urls", {s.base_url() + "/b"}}}).dump());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

TEST(Api, TokenIsRequiredEverywhereButHealthz) {
  test_server s;
  s.add_html("/", page({}));
  temp_dir dir;
  service svc(dir.path() + "/data", {{"api", {{"token", "s3cret.Token-1"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  std::uint16_t port = svc.port();

  EXPECT_EQ(http_call(port, "GET", "/healthz").status, 200);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/crawls"},
                                                        {"GET", "/metrics"},
                                                        {"POST", "/v1/crawls"},
                                                        {"GET", "/v1/crawls/abc"},
                                                        {"POST", "/v1/crawls/abc/cancel"},
                                                        {"GET", "/nothing"}}) {
    std::string body = method == "POST" ? crawl_config(s.base_url() + "/").dump() : "";
    auto r = http_call(port, method, target, body);
    EXPECT_EQ(r.status, 401) << method << " " << target;
    EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"trawler\"");
    r = http_call(port, method, target, body, {"Authorization: Bearer wrong"});
    EXPECT_EQ(r.status, 401) << method << " " << target;
    EXPECT_NE(r.header("www-authenticate").find("invalid_token"), std::string::npos);
  }
  EXPECT_EQ(http_call(port, "GET", "/v1/crawls", "", {"Authorization: Basic czNjcmV0"}).status,
            401);
  EXPECT_EQ(svc.call("GET", "/v1/crawls").body_json().at("crawls").size(), 0u);  // nothing created

  auto ok = http_call(port, "GET", "/v1/crawls", "", {"Authorization: Bearer s3cret.Token-1"});
  EXPECT_EQ(ok.status, 200) << ok.raw;
  std::string id = svc.create(crawl_config(s.base_url() + "/"));
  json v = svc.wait_for(id, [](const json& j) { return j.at("state") != "running"; });
  EXPECT_EQ(v.at("state"), "completed");
  EXPECT_EQ(svc.call("GET", "/metrics").status, 200);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

TEST(Api, NonLoopbackListenNeedsAToken) {
  temp_dir dir;
  std::string cfg = dir.path() + "/serve.json";
  std::ofstream(cfg) << json({{"api", {{"data_dir", dir.path() + "/data"}}}}).dump();
  auto r =
      run_process({trawler_binary(), "serve", "--config", cfg, "--listen", "0.0.0.0:0"}, {}, 30s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("api.token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening"), std::string::npos);

  // With a token it serves (on every address, so checked through loopback).
  std::ofstream(cfg, std::ios::trunc)
      << json({{"api", {{"data_dir", dir.path() + "/data"}, {"token", "tok"}}}}).dump();
  auto proc = start_process({trawler_binary(), "serve", "--config", cfg, "--listen", "0.0.0.0:0"});
  const std::string marker = "listening on http://0.0.0.0:";
  ASSERT_TRUE(proc.wait_for_output(
      [&](const std::string&, const std::string& err) {
        auto at = err.find(marker);
        return at != std::string::npos && err.find('\n', at) != std::string::npos;
      },
      20s))
      << proc.err_so_far();
  std::string err = proc.err_so_far();
  auto port = static_cast<std::uint16_t>(std::stoi(err.substr(err.find(marker) + marker.size())));
  EXPECT_EQ(http_call(port, "GET", "/v1/crawls").status, 401);
  EXPECT_EQ(http_call(port, "GET", "/v1/crawls", "", {"Authorization: Bearer tok"}).status, 200);
  proc.signal(SIGTERM);
  EXPECT_EQ(proc.wait(30s).exit_code, 0);

  // A config error in the service's own file: exit 2 naming the key.
  std::ofstream(cfg, std::ios::trunc) << json({{"api", {{"listen", "nowhere"}}}}).dump();
  r = run_process({trawler_binary(), "serve", "--config", cfg}, {}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("api.listen"), std::string::npos) << r.err;
  // Crawl defaults in it follow the service path rules too.
  std::ofstream(cfg, std::ios::trunc)
      << json({{"api", {{"data_dir", dir.path() + "/data"}}}, {"output", {{"path", "/abs.jsonl"}}}})
             .dump();
  r = run_process({trawler_binary(), "serve", "--config", cfg, "--listen", "127.0.0.1:0"}, {}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("output.path"), std::string::npos) << r.err;
}

TEST(Api, SigtermStopsCrawlsAndARestartResumesThem) {
  test_server s;
  s.add_html("/", page({"/a"}));
  s.add_html("/a", page({}));
  add_slow_chain(s, 40, 100ms);
  temp_dir dir;
  std::string data = dir.path() + "/data";
  std::string done_id, slow_id;
  {
    service svc(data);
    ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
    done_id = svc.create(crawl_config(s.base_url() + "/"));
    ASSERT_EQ(
        svc.wait_for(done_id, [](const json& v) { return v.at("state") != "running"; }).at("state"),
        "completed");
    slow_id = svc.create(chain_config(s.base_url() + "/p0"));
    svc.wait_for(slow_id, [](const json& v) { return stat_pages(v) >= 2; });
    auto t0 = std::chrono::steady_clock::now();
    auto r = svc.stop(SIGTERM);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(r.timed_out);
  }
  // Whole lines only, and crawl.json says the slow crawl is unfinished.
  auto records = read_records(data + "/" + slow_id + "/records.jsonl");
  EXPECT_GE(records.size(), 2u);
  EXPECT_LT(records.size(), 40u);
  std::ifstream meta(data + "/" + slow_id + "/crawl.json");
  json saved = json::parse(meta, nullptr, false);
  ASSERT_TRUE(saved.is_object());
  EXPECT_EQ(saved.at("state"), "running");
  int hits_before = s.hits("/p0");

  // The restarted service resumes the unfinished crawl from its state: it runs to its end,
  // and no page recorded before the stop is fetched again.
  service again(data);
  ASSERT_TRUE(again.up()) << again.proc().err_so_far();
  auto list = again.call("GET", "/v1/crawls").body_json().at("crawls");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("id"), done_id);  // oldest first
  EXPECT_EQ(list[0].at("state"), "completed");
  EXPECT_EQ(list[0].at("stats").at("pages"), 2);
  EXPECT_EQ(list[1].at("id"), slow_id);
  EXPECT_NE(list[1].at("state"), "interrupted");
  auto m = again.call("GET", "/metrics").body;
  EXPECT_EQ(metric(m, "trawler_pages_total{crawl=\"" + done_id + "\"}"), 2.0);
  EXPECT_EQ(again.call("POST", "/v1/crawls/" + done_id + "/resume").status, 409);
  EXPECT_EQ(
      again.wait_for(slow_id, [](const json& v) { return v.at("state") != "running"; }).at("state"),
      "completed");
  EXPECT_EQ(s.hits("/p0"), hits_before);
  std::map<std::string, int> seen;
  for (const auto& rec : read_records(data + "/" + slow_id + "/records.jsonl")) {
    if (rec.at("error").is_object() && rec.at("error").at("kind") == "cancelled") continue;
    ++seen[rec.at("url").get<std::string>()];
  }
  EXPECT_EQ(seen.size(), 40u);
  for (const auto& [url, n] : seen) EXPECT_EQ(n, 1) << url;
  // Stats are the crawl's, not the resumed run's: every record with a response, both runs.
  std::uint64_t responses = 0;
  for (const auto& rec : read_records(data + "/" + slow_id + "/records.jsonl")) {
    if (!rec.at("status").is_null()) ++responses;
  }
  const auto view = again.call("GET", "/v1/crawls/" + slow_id).body_json();
  EXPECT_EQ(view.at("stats").at("pages"), responses);
  EXPECT_EQ(
      metric(again.call("GET", "/metrics").body, "trawler_pages_total{crawl=\"" + slow_id + "\"}"),
      static_cast<double>(responses));
  EXPECT_EQ(again.stop(SIGINT).exit_code, 0);
}

// A crawl paused when the service stops comes back paused: its crawl.json says so, the
// restarted service fetches nothing for it until it is resumed, and then it runs to its end
// without fetching a recorded page again.
TEST(Api, PausedCrawlStaysPausedAcrossARestart) {
  test_server s;
  add_slow_chain(s, 30, 100ms);
  temp_dir dir;
  std::string data = dir.path() + "/data";
  std::string id;
  std::uint64_t paused_pages = 0;
  {
    service svc(data);
    ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
    id = svc.create(chain_config(s.base_url() + "/p0"));
    ASSERT_FALSE(id.empty());
    svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 3; });
    ASSERT_EQ(svc.call("POST", "/v1/crawls/" + id + "/pause").status, 200);
    json settled =
        svc.wait_for(id, [](const json& v) { return v.at("stats").at("in_flight") == 0; });
    ASSERT_EQ(settled.at("state"), "paused");
    paused_pages = stat_pages(settled);
    auto r = svc.stop(SIGTERM);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_LT(paused_pages, 30u);
  std::ifstream meta(data + "/" + id + "/crawl.json");
  json saved = json::parse(meta, nullptr, false);
  ASSERT_TRUE(saved.is_object());
  EXPECT_EQ(saved.at("state"), "paused");
  const std::size_t requests_before = s.requests().size();
  const std::size_t records_before = read_records(data + "/" + id + "/records.jsonl").size();

  service again(data);
  ASSERT_TRUE(again.up()) << again.proc().err_so_far();
  json v = again.get(id);
  EXPECT_EQ(v.at("state"), "paused") << v.dump();
  // Long enough for several pages of the chain had it been running.
  std::this_thread::sleep_for(1500ms);
  v = again.get(id);
  EXPECT_EQ(v.at("state"), "paused") << v.dump();
  EXPECT_EQ(stat_pages(v), paused_pages);
  EXPECT_EQ(v.at("stats").at("in_flight"), 0);
  EXPECT_EQ(s.requests().size(), requests_before) << "the paused crawl fetched after the restart";
  EXPECT_EQ(read_records(data + "/" + id + "/records.jsonl").size(), records_before);
  EXPECT_EQ(json::parse(std::ifstream(data + "/" + id + "/crawl.json"), nullptr, false).at("state"),
            "paused");

  auto r = again.call("POST", "/v1/crawls/" + id + "/resume");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body_json().at("state"), "running");
  json done = again.wait_for(
      id, [](const json& j) { return j.at("state") != "running"; }, 60s);
  EXPECT_EQ(done.at("state"), "completed") << done.dump();
  std::map<std::string, int> seen;
  for (const auto& rec : read_records(data + "/" + id + "/records.jsonl")) {
    if (rec.at("error").is_object() && rec.at("error").at("kind") == "cancelled") continue;
    ++seen[rec.at("url").get<std::string>()];
  }
  EXPECT_EQ(seen.size(), 30u);
  for (const auto& [url, n] : seen) EXPECT_EQ(n, 1) << url;
  EXPECT_EQ(s.hits("/p0"), 1);
  EXPECT_EQ(again.stop(SIGINT).exit_code, 0);
}

// A service killed (SIGKILL) in the middle of a crawl writing segments: the restart completes the
// leftover segment, resumes the crawl, and numbers its segments on after it.
TEST(Api, SigkilledServiceResumesItsSegmentsWhereTheyStopped) {
  test_server s;
  add_slow_chain(s, 30, 60ms);
  temp_dir dir;
  std::string data = dir.path() + "/data";
  json cfg = chain_config(s.base_url() + "/p0");
  cfg["output"] = {{"dir", "segments"}, {"rotate_bytes", 1500}, {"compress", "zstd"}};
  std::string id;
  {
    service svc(data);
    ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
    id = svc.create(cfg);
    svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 8; });
    svc.stop(SIGKILL);
  }
  const std::string folder = data + "/" + id + "/segments";
  std::set<int> serials_before;
  for (const auto& e : fs::directory_iterator(folder)) {
    serials_before.insert(std::stoi(e.path().filename().string().substr(8, 6)));
  }
  ASSERT_FALSE(serials_before.empty());
  service again(data);
  ASSERT_TRUE(again.up()) << again.proc().err_so_far();
  EXPECT_EQ(
      again.wait_for(id, [](const json& v) { return v.at("state") != "running"; }).at("state"),
      "completed");
  std::map<std::string, int> seen;
  std::vector<int> serials;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    ASSERT_TRUE(name.ends_with(".jsonl.zst")) << name << " (no .part is left)";
    serials.push_back(std::stoi(name.substr(8, 6)));
    auto text = run_process({"zstd", "-dc", e.path().string()});
    ASSERT_EQ(text.exit_code, 0) << name << text.err;
    std::istringstream in(text.out);
    std::string line;
    while (std::getline(in, line)) {
      auto rec = json::parse(line);
      if (rec.at("error").is_object() && rec.at("error").at("kind") == "cancelled") continue;
      ++seen[rec.at("url").get<std::string>()];
    }
  }
  std::sort(serials.begin(), serials.end());
  for (std::size_t i = 0; i < serials.size(); ++i) EXPECT_EQ(serials[i], static_cast<int>(i) + 1);
  EXPECT_GT(serials.size(), serials_before.size());
  EXPECT_EQ(seen.size(), 30u);
  for (const auto& [url, n] : seen) EXPECT_EQ(n, 1) << url;
  EXPECT_EQ(again.stop(SIGINT).exit_code, 0);
}

// GET /v1/crawls/{id} of a live crawl names its busiest hosts: queued and open work, when each
// may start again, how it has answered.
TEST(Api, LiveCrawlReportsItsBusiestHosts) {
  test_server s;
  std::vector<std::string> names{"a.test", "b.test", "c.test"};
  const std::string port = std::to_string(s.port());
  std::vector<std::string> seeds;
  for (const auto& n : names) {
    std::vector<std::string> links;
    for (int i = 0; i < 20; ++i) links.push_back("/p" + std::to_string(i));
    s.add_html("/", page(links), n);
    for (int i = 0; i < 20; ++i) {
      response r;
      r.body = page({});
      r.delay = 200ms;
      s.add_page("/p" + std::to_string(i), r, n);
    }
    seeds.push_back("http://" + n + ":" + port + "/");
  }
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = {{"seeds", seeds},
              {"network", {{"allow_private", true}, {"resolve", json::object()}}},
              {"limits", {{"per_host", 1}, {"delay_ms", 500}}}};
  for (const auto& n : names) cfg["network"]["resolve"][n + ":" + port] = "127.0.0.1";
  const std::string id = svc.create(cfg);
  json v = svc.wait_for(id, [](const json& j) {
    return j.contains("hosts") && j["hosts"].size() == 3 && j["hosts"][0]["responses"] >= 2;
  });
  ASSERT_TRUE(v.contains("hosts")) << v.dump();
  ASSERT_EQ(v["hosts"].size(), 3u) << v["hosts"].dump();
  std::set<std::string> hosts;
  for (const auto& h : v["hosts"]) {
    hosts.insert(h["host"].get<std::string>());
    EXPECT_LE(h["open"].get<int>(), 1) << h.dump();  // per_host 1
    EXPECT_GT(h["queued"].get<int>() + h["open"].get<int>(), 0) << h.dump();
    EXPECT_LE(h["wait_ms"].get<int>(), 500) << h.dump();
    EXPECT_TRUE(h["robots_known"].get<bool>()) << h.dump();
    EXPECT_EQ(h["failures"], 0) << h.dump();
  }
  EXPECT_EQ(hosts, (std::set<std::string>{"http://a.test:" + port, "http://b.test:" + port,
                                          "http://c.test:" + port}));
  // Most work first.
  for (std::size_t i = 1; i < v["hosts"].size(); ++i) {
    EXPECT_GE(v["hosts"][i - 1]["queued"].get<int>() + v["hosts"][i - 1]["open"].get<int>(),
              v["hosts"][i]["queued"].get<int>() + v["hosts"][i]["open"].get<int>());
  }
  // The listing stays small: no hosts there.
  EXPECT_FALSE(svc.call("GET", "/v1/crawls").body_json()["crawls"][0].contains("hosts"));
  EXPECT_EQ(svc.call("POST", "/v1/crawls/" + id + "/cancel").status, 200);
  json done = svc.wait_for(id, [](const json& j) { return j.contains("finished_at"); });
  ASSERT_EQ(done.at("state"), "cancelled") << done.dump();
  // The cancelled crawl says so, and why its queued URLs were not fetched.
  EXPECT_EQ(done.at("end_reason"), "cancelled") << done.dump();
  const auto queued = done.at("stats").at("queued").get<std::uint64_t>();
  ASSERT_GT(queued, 0u) << done.dump();
  EXPECT_EQ(done.at("end_message"), "Cancelled through the API: " + std::to_string(queued) +
                                        " URLs stay queued, not fetched.");
  // Its host table stays, as it was at the end: where the queued URLs are.
  ASSERT_TRUE(done.contains("hosts")) << done.dump();
  ASSERT_EQ(done["hosts"].size(), 3u) << done["hosts"].dump();
  std::uint64_t left = 0;
  for (const auto& h : done["hosts"]) {
    EXPECT_EQ(h["open"], 0) << h.dump();
    EXPECT_GE(h["responses"].get<int>(), 2) << h.dump();
    left += h["queued"].get<std::uint64_t>();
  }
  EXPECT_EQ(left, queued);
}

// A cluster crawl under the service whose Redis goes away fails once the retries give up,
// saying why (it read "completed" before), and keeps what it had recorded.
TEST(Api, ClusterCrawlThatLosesRedisFailsSayingWhy) {
  redis_server redis;
  NEED_REDIS(redis);
  test_server s;
  add_slow_chain(s, 300, 40ms);
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = chain_config(s.base_url() + "/p0");
  // lease_ms 1000: the retries give up after the larger of 5 s and 2 x lease_ms.
  cfg["cluster"] = {{"redis", redis.url()}, {"name", "lost"}, {"lease_ms", 1000}};
  const std::string id = svc.create(cfg);
  svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 3; });
  redis.kill();
  const json done = svc.wait_for(
      id, [](const json& v) { return v.contains("finished_at"); }, 60s);
  ASSERT_EQ(done.at("state"), "failed") << done.dump();
  EXPECT_EQ(done.at("end_reason"), "redis_unreachable") << done.dump();
  const std::string error = done.value("error", "");
  EXPECT_EQ(error.rfind("cluster: ", 0), 0u) << done.dump();
  EXPECT_NE(error.find("Redis at 127.0.0.1:" + std::to_string(redis.port())), std::string::npos)
      << done.dump();
  EXPECT_EQ(done.at("end_message")
                .get<std::string>()
                .rfind("Stopped because Redis was unreachable for too long (" + error + ")", 0),
            0u)
      << done.dump();
  EXPECT_GE(read_records(done.at("output")).size(), 3u);
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

// A crawl that scope.max_pages stopped says so, in the list and alone, with how many URLs stay
// queued; its host table (where they wait) and its history stay after the end, and after a
// restart of the service.
TEST(Api, CrawlStoppedByMaxPagesSaysWhyAndKeepsItsHostsAndHistory) {
  test_server s;
  std::vector<std::string> links;
  for (int i = 0; i < 30; ++i) {
    links.push_back("/p" + std::to_string(i));
    response r;
    r.body = page({});
    r.delay = 250ms;  // a crawl of about three seconds: its history has samples
    s.add_page("/p" + std::to_string(i), r);
  }
  s.add_html("/", page(links));
  temp_dir dir;
  auto svc = std::make_unique<service>(dir.path() + "/data");
  ASSERT_TRUE(svc->up()) << svc->proc().err_so_far();
  json cfg = crawl_config(s.base_url() + "/");
  cfg["scope"] = {{"max_pages", 13}};
  cfg["limits"] = {{"per_host", 1}};
  const std::string id = svc->create(cfg);
  const json done = svc->wait_for(id, [](const json& v) { return v.contains("finished_at"); });
  ASSERT_EQ(done.at("state"), "completed") << done.dump();
  EXPECT_EQ(stat_pages(done), 13u);
  EXPECT_EQ(done.at("stats").at("queued"), 18) << done.dump();
  const std::string why =
      "Stopped at scope.max_pages (13 pages with a response): 18 URLs stay queued, not fetched.";
  EXPECT_EQ(done.at("end_reason"), "max_pages");
  EXPECT_EQ(done.at("end_message"), why);
  const json listed = svc->call("GET", "/v1/crawls").body_json().at("crawls").at(0);
  EXPECT_EQ(listed.at("end_reason"), "max_pages");
  EXPECT_EQ(listed.at("end_message"), why);
  ASSERT_EQ(done.at("hosts").size(), 1u) << done.dump();
  EXPECT_EQ(done["hosts"][0]["host"], s.base_url());
  EXPECT_EQ(done["hosts"][0]["queued"], 18);
  EXPECT_EQ(done["hosts"][0]["responses"], 13);

  // The history: samples a second over crawl time, ending at the final counts.
  auto h = svc->call("GET", "/v1/crawls/" + id + "/history");
  ASSERT_EQ(h.status, 200) << h.raw;
  const json history = h.body_json();
  EXPECT_EQ(history.at("id"), id);
  EXPECT_EQ(history.at("step_s"), 1);
  EXPECT_EQ(history.at("capacity"), 720);
  const json& samples = history.at("samples");
  ASSERT_GE(samples.size(), 3u) << history.dump();
  for (std::size_t i = 1; i < samples.size(); ++i) {
    EXPECT_GT(samples[i]["elapsed_s"].get<double>(), samples[i - 1]["elapsed_s"].get<double>());
    EXPECT_GE(samples[i]["pages"].get<int>(), samples[i - 1]["pages"].get<int>());
  }
  EXPECT_EQ(samples.back()["pages"], 13);
  EXPECT_EQ(samples.back()["queued"], 18);
  EXPECT_NEAR(samples.back()["elapsed_s"].get<double>(),
              done.at("stats").at("elapsed_s").get<double>(), 0.01);
  const json tail = svc->call("GET", "/v1/crawls/" + id + "/history?last_s=1").body_json();
  EXPECT_LT(tail.at("samples").size(), samples.size());
  EXPECT_EQ(tail.at("samples").back(), samples.back());

  // A restarted service knows all of it.
  EXPECT_EQ(svc->stop(SIGTERM).exit_code, 0);
  svc = std::make_unique<service>(dir.path() + "/data");
  ASSERT_TRUE(svc->up()) << svc->proc().err_so_far();
  const json again = svc->get(id);
  EXPECT_EQ(again.at("end_reason"), "max_pages");
  EXPECT_EQ(again.at("end_message"), why);
  EXPECT_EQ(again.at("hosts"), done.at("hosts"));
  EXPECT_EQ(svc->call("GET", "/v1/crawls/" + id + "/history").body_json(), history);
  EXPECT_EQ(svc->stop(SIGTERM).exit_code, 0);
}

// Paused time is not crawl time: elapsed_s and pages/s stand still while a crawl is paused,
// also once a restarted service has brought it back paused, and go on after the resume. Its
// history goes on across the restart.
TEST(Api, PausedTimeIsNotCrawlTimeAcrossARestart) {
  test_server s;
  add_slow_chain(s, 400, 40ms);
  temp_dir dir;
  auto svc = std::make_unique<service>(dir.path() + "/data");
  ASSERT_TRUE(svc->up()) << svc->proc().err_so_far();
  const std::string id = svc->create(chain_config(s.base_url() + "/p0"));
  svc->wait_for(id, [](const json& v) { return v.at("stats").at("elapsed_s") >= 2.0; });
  ASSERT_EQ(svc->call("POST", "/v1/crawls/" + id + "/pause").status, 200);
  const json paused = svc->wait_for(id, [](const json& v) { return v["stats"]["in_flight"] == 0; });
  const double e1 = paused.at("stats").at("elapsed_s").get<double>();
  const double rate1 = paused.at("stats").at("pages_per_s").get<double>();
  ASSERT_GT(rate1, 0) << paused.dump();
  std::this_thread::sleep_for(2500ms);
  const json later = svc->get(id);
  EXPECT_EQ(later.at("state"), "paused");
  EXPECT_NEAR(later.at("stats").at("elapsed_s").get<double>(), e1, 0.05) << later.dump();
  EXPECT_NEAR(later.at("stats").at("pages_per_s").get<double>(), rate1, 0.05) << later.dump();
  const auto samples_before =
      svc->call("GET", "/v1/crawls/" + id + "/history").body_json().at("samples");
  ASSERT_GE(samples_before.size(), 2u);
  EXPECT_LE(samples_before.back()["elapsed_s"].get<double>(), e1 + 0.01);

  // Across a restart: carried from the state, and still standing while it stays paused.
  EXPECT_EQ(svc->stop(SIGTERM).exit_code, 0);
  svc = std::make_unique<service>(dir.path() + "/data");
  ASSERT_TRUE(svc->up()) << svc->proc().err_so_far();
  const json back = svc->get(id);
  ASSERT_EQ(back.at("state"), "paused") << back.dump();
  const double e2 = back.at("stats").at("elapsed_s").get<double>();
  EXPECT_NEAR(e2, e1, 0.05) << back.dump();
  std::this_thread::sleep_for(2s);
  EXPECT_NEAR(svc->get(id).at("stats").at("elapsed_s").get<double>(), e2, 0.05);
  const auto samples_back =
      svc->call("GET", "/v1/crawls/" + id + "/history").body_json().at("samples");
  EXPECT_EQ(samples_back, samples_before) << "the history came back with the crawl";

  // Resumed, its time goes on from there.
  ASSERT_EQ(svc->call("POST", "/v1/crawls/" + id + "/resume").status, 200);
  const json going = svc->wait_for(
      id, [&](const json& v) { return v.at("stats").at("elapsed_s").get<double>() > e2 + 1.5; });
  EXPECT_GT(going.at("stats").at("elapsed_s").get<double>(), e2 + 1.5);
  svc->wait_for(id, [&](const json&) {
    return svc->call("GET", "/v1/crawls/" + id + "/history").body_json().at("samples").size() >
           samples_before.size();
  });
  const auto grown = svc->call("GET", "/v1/crawls/" + id + "/history").body_json().at("samples");
  ASSERT_GT(grown.size(), samples_before.size());
  EXPECT_EQ(grown[samples_before.size() - 1]["pages"], samples_before.back()["pages"]);
  EXPECT_GT(grown.back()["elapsed_s"].get<double>(), e2);
  EXPECT_EQ(svc->call("POST", "/v1/crawls/" + id + "/cancel").status, 200);
  EXPECT_EQ(svc->stop(SIGTERM).exit_code, 0);
}

// The dashboard in a real headless chromium: it loads without console errors under its
// Content-Security-Policy, asks for the token, shows a running crawl's counts moving, and its
// Pause button pauses the crawl. The screenshot is kept as a test artifact.
TEST(Dashboard, LoadsInChromiumShowsCountsMovingAndPauses) {
  const std::string driver = std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/dashboard.mjs";
  ASSERT_TRUE(
      fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/node_modules/playwright-core"))
      << "playwright-core is not installed: run scripts/install-deps.sh";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
      << "chromium is not installed: run scripts/install-deps.sh";
  test_server s;
  add_slow_chain(s, 300, 40ms);
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "dash-Token_42"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  const std::string id = svc.create(chain_config(s.base_url() + "/p0"));
  svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 2; });

  const std::string artifacts = std::string(TRAWLER_BINARY_DIR) + "/test-artifacts";
  fs::create_directories(artifacts);
  const std::string shot = artifacts + "/dashboard.png";
  fs::remove(shot);
  const std::string base = "http://127.0.0.1:" + std::to_string(svc.port());
  auto run = run_process({"node", driver, base, "dash-Token_42", id, shot, s.base_url() + "/p0"},
                         {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << run.out;
  EXPECT_TRUE(out["console_errors"].empty()) << out["console_errors"].dump();
  EXPECT_GT(out["later_pages"].get<int>(), out["first_pages"].get<int>()) << out.dump();
  EXPECT_EQ(out["state_after_pause"], "paused");
  EXPECT_EQ(out["token_in_session"], true);
  // The explain form shows the service's answer for the seed, which was fetched.
  EXPECT_EQ(out.value("explain", "").rfind("fetched: " + s.base_url() + "/p0 was fetched: 200", 0),
            0u)
      << out.dump();
  // The paused chain still has its next page queued: its host is in the host table.
  EXPECT_EQ(out["host_rows"], json::array({s.base_url()})) << out.dump();
  EXPECT_NE(out["csp"].get<std::string>().find("default-src 'none'"), std::string::npos);
  for (const auto& url : out["requests"]) {
    EXPECT_EQ(url.get<std::string>().rfind(base + "/", 0), 0u) << "a request elsewhere: " << url;
  }
  EXPECT_EQ(svc.get(id).at("state"), "paused");
  EXPECT_GT(fs::file_size(shot), 10000u);
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

// config/grafana: every query of the Grafana dashboard runs on a real Prometheus scraping a real
// service with the compose example's scrape settings (bearer token), and names only metrics
// the service exposes (or, for the cluster panel, that the contract lists).
TEST(Grafana, EveryDashboardQueryRunsOnPrometheusScrapingTheService) {
  ASSERT_TRUE(fs::exists("/usr/bin/prometheus"))
      << "prometheus is not installed: run scripts/install-deps.sh";
  std::ifstream dash_file(std::string(TRAWLER_SOURCE_DIR) +
                          "/config/grafana/trawler-dashboard.json");
  const json dash = json::parse(dash_file, nullptr, false);
  ASSERT_TRUE(dash.is_object());
  std::vector<std::string> exprs;
  for (const auto& p : dash.at("panels")) {
    for (const auto& t : p.at("targets")) exprs.push_back(t.at("expr").get<std::string>());
  }
  ASSERT_GE(exprs.size(), 15u);

  test_server s;
  add_slow_chain(s, 200, 20ms);
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "graf-Token_7"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  const std::string id = svc.create(chain_config(s.base_url() + "/p0"));

  // The compose example's scrape job, pointed at this service.
  std::ifstream compose_prom(std::string(TRAWLER_SOURCE_DIR) + "/config/grafana/prometheus.yml");
  std::stringstream prom_text;
  prom_text << compose_prom.rdbuf();
  std::string cfg = std::regex_replace(prom_text.str(), std::regex("scrape_interval: 10s"),
                                       "scrape_interval: 1s");
  cfg = std::regex_replace(cfg, std::regex("change-me-to-a-long-random-token"), "graf-Token_7");
  cfg = std::regex_replace(cfg, std::regex("trawler:8080"),
                           "127.0.0.1:" + std::to_string(svc.port()));
  std::ofstream(dir.path() + "/prometheus.yml") << cfg;
  const std::uint16_t prom_port = trawler::testing::free_port();
  auto prom = start_process({"prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                             "--storage.tsdb.path=" + dir.path() + "/tsdb",
                             "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  auto encode = [](const std::string& q) {
    std::string out;
    for (const unsigned char c : q) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
    return out;
  };
  auto query = [&](const std::string& q) {
    auto r = http_call(prom_port, "GET", "/api/v1/query?query=" + encode(q));
    return json::parse(r.body, nullptr, false);
  };
  // Prometheus logs when it serves; on a busy machine that can take many seconds, so the test
  // waits for that line (or Prometheus' exit) with a deadline far above an idle start (about
  // 1 s) instead of polling its port on a short clock: a connection refused before it listens
  // is not a failure.
  const std::string ready_line = "Server is ready to receive web requests";
  const bool ready = prom.wait_for_output(
      [&](const std::string&, const std::string& err) {
        return err.find(ready_line) != std::string::npos;
      },
      120s);
  ASSERT_TRUE(ready) << "Prometheus did not start serving within 120 s: " << prom.err_so_far();
  // Until a rate over the crawl's pages has two scrapes of data (scrapes come each second).
  json pages;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    pages = query("rate(trawler_pages_total{crawl=\"" + id + "\"}[10s])");
    if (pages.is_object() && !pages["data"]["result"].empty()) break;
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(pages.is_object() && !pages["data"]["result"].empty())
      << "Prometheus never scraped the service: " << prom.err_so_far();
  EXPECT_EQ(query("up{job=\"trawler\"}")["data"]["result"][0]["value"][1], "1");

  for (std::string e : exprs) {
    e = std::regex_replace(e, std::regex("\\$crawl"), ".*");
    e = std::regex_replace(e, std::regex("\\$__rate_interval"), "10s");
    const json r = query(e);
    EXPECT_EQ(r.value("status", ""), "success") << e << ": " << r.dump();
  }
  const json by_crawl = query("sum by (crawl) (rate(trawler_pages_total{crawl=~\".*\"}[10s]))");
  ASSERT_FALSE(by_crawl["data"]["result"].empty());
  EXPECT_EQ(by_crawl["data"]["result"][0]["metric"]["crawl"], id);
  const json labels =
      json::parse(http_call(prom_port, "GET", "/api/v1/label/crawl/values").body, nullptr, false);
  EXPECT_NE(labels.dump().find(id), std::string::npos);

  // Every metric the dashboard names is one the service exposes, or a cluster gauge the
  // contract lists (those appear for cluster crawls only).
  const std::string exposed = svc.call("GET", "/metrics").body;
  std::ifstream api_file(std::string(TRAWLER_SOURCE_DIR) + "/proto-free-api/openapi.yaml");
  std::stringstream contract;
  contract << api_file.rdbuf();
  const std::regex metric_name("trawler_[a-z_]+");
  for (const auto& e : exprs) {
    for (std::sregex_iterator it(e.begin(), e.end(), metric_name), end; it != end; ++it) {
      std::string name = it->str();
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix) && name.starts_with("trawler_fetch_duration_seconds")) {
          name = "trawler_fetch_duration_seconds";
        }
      }
      const bool listed = exposed.find("# TYPE " + name + " ") != std::string::npos ||
                          (name.starts_with("trawler_cluster_") &&
                           contract.str().find("`" + name + "`") != std::string::npos);
      EXPECT_TRUE(listed) << name << " in " << e;
    }
  }
  prom.signal(SIGTERM);
  prom.wait(20s);
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

// GET /v1/crawls/{id}/urls?url= (SPEC additions "Explain") on a running crawl: a queued URL's
// place in its host's queue and why the host waits, a fetched one's record, a filtered one's rule;
// each answer valid against the contract's Explanation schema; then the same for the finished
// crawl, answered from its state.
TEST(Api, ExplainTellsWhereAQueuedUrlWaitsAndWhyOthersWereNotFetched) {
  test_server s;
  const std::string b = s.base_url();
  std::vector<std::string> links{"/skip/me"};
  for (int i = 0; i < 8; ++i) links.push_back("/p" + std::to_string(i));
  s.add_html("/", page(links));
  for (int i = 0; i < 8; ++i) s.add_html("/p" + std::to_string(i), page({}));
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "t0ken"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = crawl_config(b + "/");
  cfg["limits"] = {{"per_host", 1}, {"delay_ms", 1500}};
  cfg["scope"] = {{"exclude", {"/skip/"}}};
  const std::string id = svc.create(cfg);
  // The home page is in; its links wait behind the 1.5 s spacing.
  svc.wait_for(id, [](const json& v) { return stat_pages(v) >= 1; });
  const auto ask = [&](const std::string& url) {
    std::string encoded;
    for (unsigned char c : url) {
      static const char* hex = "0123456789ABCDEF";
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        encoded += static_cast<char>(c);
      } else {
        encoded += '%';
        encoded += hex[c >> 4];
        encoded += hex[c & 15];
      }
    }
    return svc.call("GET", "/v1/crawls/" + id + "/urls?url=" + encoded);
  };
  auto queued = ask(b + "/p6");
  ASSERT_EQ(queued.status, 200) << queued.raw;
  json q = queued.body_json();
  EXPECT_EQ(q["fate"], "queued") << q.dump();
  EXPECT_TRUE(q["sources"]["live"].get<bool>());
  ASSERT_TRUE(q["live"]["queued"].is_object()) << q.dump();
  // p0 may be open or done by now; p1..p5 (or p0..p5) are ahead of p6.
  EXPECT_GE(q["live"]["queued"]["position"].get<int>(), 5) << q.dump();
  EXPECT_LE(q["live"]["queued"]["position"].get<int>(), 6) << q.dump();
  EXPECT_EQ(q["live"]["host"]["delay_ms"], 1500) << q.dump();
  EXPECT_EQ(q["referrer"], b + "/");
  EXPECT_EQ(validate_against(q, "explanation.schema.json", dir.path()), "");

  auto home = ask(b + "/").body_json();
  EXPECT_EQ(home["fate"], "fetched") << home.dump();
  EXPECT_EQ(home["record"]["status"], 200);
  EXPECT_EQ(validate_against(home, "explanation.schema.json", dir.path()), "");
  auto skipped = ask(b + "/skip/me").body_json();
  EXPECT_EQ(skipped["fate"], "filtered") << skipped.dump();
  EXPECT_EQ(skipped["rule"]["key"], "scope.exclude[0]");
  EXPECT_EQ(validate_against(skipped, "explanation.schema.json", dir.path()), "");

  // The request's own mistakes.
  EXPECT_EQ(svc.call("GET", "/v1/crawls/" + id + "/urls").status, 400);
  EXPECT_EQ(svc.call("GET", "/v1/crawls/" + id + "/urls?url=%zz").status, 400);
  EXPECT_EQ(svc.call("GET", "/v1/crawls/000000000000/urls?url=x").status, 404);
  EXPECT_EQ(http_call(svc.port(), "GET", "/v1/crawls/" + id + "/urls?url=x", "", {}).status, 401);

  // Cancelled: the state dir answers; what was queued stays queued (no live view any more).
  EXPECT_EQ(svc.call("POST", "/v1/crawls/" + id + "/cancel").status, 200);
  svc.wait_for(id, [](const json& v) { return v.at("state") != "running"; });
  json after = ask(b + "/p7").body_json();
  EXPECT_FALSE(after["sources"]["live"].get<bool>()) << after.dump();
  EXPECT_TRUE(after["sources"]["state"].get<bool>()) << after.dump();
  EXPECT_TRUE(after["fate"] == "queued" || after["fate"] == "fetched") << after.dump();
  EXPECT_EQ(ask(b + "/").body_json()["fate"], "fetched");
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

TEST(Api, HttpDetailsKeepAliveContinueAndLimits) {
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  {
    // Two requests on one kept-alive connection, answered in order.
    socket_fd c(svc.port());
    c.send_all(request_text("GET", "/healthz", "", {}, false));
    std::string raw = c.read_until("\"ok\"}\n");
    auto r1 = parse_reply(raw);
    EXPECT_EQ(r1.status, 200) << raw;
    EXPECT_NE(r1.header("connection"), "close");
    c.send_all(request_text("GET", "/v1/crawls", "", {}, true));
    auto r2 = parse_reply(c.read_all());
    EXPECT_EQ(r2.status, 200);
    EXPECT_EQ(r2.body_json(), json({{"crawls", json::array()}}));
  }
  {
    // Expect: 100-continue gets the go-ahead before the body is sent.
    socket_fd c(svc.port());
    std::string body = crawl_config("ftp://x/").dump();
    c.send_all(
        "POST /v1/crawls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    std::string interim = c.read_until("\r\n\r\n");
    EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
    c.send_all(body);
    auto r = parse_reply(c.read_all());
    EXPECT_EQ(r.status, 400) << r.raw;  // the seed is refused: the body was read
    EXPECT_EQ(r.body_json().at("error").at("key"), "seeds[0]");
  }
  {
    // A body over the limit is refused from its Content-Length alone.
    socket_fd c(svc.port());
    c.send_all(
        "POST /v1/crawls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 5000000\r\n\r\n{");
    auto r = parse_reply(c.read_all());
    EXPECT_EQ(r.status, 413) << r.raw;
  }
  {
    socket_fd c(svc.port());
    c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: " + std::string(64 * 1024, 'h') +
               "\r\n\r\n");
    EXPECT_EQ(parse_reply(c.read_all()).status, 431);
  }
  {
    socket_fd c(svc.port());
    c.send_all("NOT-HTTP\r\n\r\n");
    EXPECT_EQ(parse_reply(c.read_all()).status, 400);
  }
  EXPECT_EQ(svc.call("GET", "/healthz").status, 200);  // none of that hurt the service
  EXPECT_EQ(svc.stop(SIGINT).exit_code, 0);
}

}  // namespace

// Recrawl posted to the service (SPEC additions "Recrawl"): the service gives the crawl its
// state dir, the crawl never completes on its own, its stats and /metrics count visits by
// change, and a cancel ends it.
TEST(Api, PostedContinuousCrawlRevisitsUntilCancelled) {
  test_server s;
  int version = 0;
  s.add_html("/", page({"/a", "/b"}));
  s.add_html("/a", page({}));
  s.add_handler("/b", [&](const request_entry&) {
    response r;
    r.body = page({}) + "<p>" + std::to_string(++version) + "</p>";
    return r;
  });
  temp_dir dir;
  service svc(dir.path() + "/data");
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = crawl_config(s.base_url() + "/");
  cfg["recrawl"] = {{"mode", "continuous"},
                    {"interval_ms", 200},
                    {"min_interval_ms", 150},
                    {"max_interval_ms", 1000},
                    {"jitter", 0}};
  const std::string id = svc.create(cfg);
  ASSERT_FALSE(id.empty());
  // Visits go on after every URL was seen once: /b changes every time.
  json v = svc.wait_for(
      id,
      [](const json& view) {
        return view.at("stats").contains("recrawl") &&
               view.at("stats").at("recrawl").at("changes").at("changed").get<int>() >= 3;
      },
      20s);
  EXPECT_EQ(v.at("state"), "running");
  const json& rc = v.at("stats").at("recrawl");
  EXPECT_GE(rc.at("changes").at("new").get<int>(), 3);
  EXPECT_GE(rc.at("changes").at("unchanged").get<int>(), 1);
  EXPECT_GE(rc.at("waiting").get<int>(), 1);
  EXPECT_EQ(validate_against(v.at("stats"), "stats.schema.json", dir.path()), "");
  const std::string m = svc.call("GET", "/metrics").body;
  EXPECT_GE(metric(m, "trawler_recrawl_visits_total{crawl=\"" + id + "\",change=\"changed\"}")
                .value_or(0),
            3.0);
  ASSERT_TRUE(metric(m, "trawler_recrawl_waiting_urls{crawl=\"" + id + "\"}").has_value()) << m;

  auto r = svc.call("POST", "/v1/crawls/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.raw;
  json done = svc.wait_for(
      id, [](const json& view) { return view.contains("finished_at"); }, 20s);
  EXPECT_EQ(done.at("state"), "cancelled");
  const auto records = read_records(done.at("output"));
  int b_visits = 0;
  for (const auto& rec : records) {
    ASSERT_TRUE(rec.contains("change")) << rec;
    if (rec.at("url") == s.base_url() + "/b") ++b_visits;
  }
  EXPECT_GE(b_visits, 4);
  EXPECT_EQ(svc.stop().exit_code, 0);
}

// The dashboard shows a recrawl crawl's freshness: revisits waiting and due, visits by change,
// what 304s saved; the counts move while it runs.
TEST(Dashboard, ShowsTheFreshnessOfAContinuousCrawl) {
  const std::string driver = std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/freshness.mjs";
  ASSERT_TRUE(
      fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/node_modules/playwright-core"))
      << "playwright-core is not installed: run scripts/install-deps.sh";
  test_server s;
  int version = 0;
  s.add_html("/", page({"/a", "/b"}));
  s.add_handler("/a", [](const request_entry& req) {
    response r;
    r.headers = {{"ETag", "\"a1\""}};
    for (const auto& [k, v] : req.headers) {
      if ((k == "If-None-Match" || k == "if-none-match") && v == "\"a1\"") {
        r.status = 304;
        r.content_type.clear();
        return r;
      }
    }
    r.body = page({});
    return r;
  });
  s.add_handler("/b", [&](const request_entry&) {
    response r;
    r.body = page({}) + "<p>" + std::to_string(++version) + "</p>";
    return r;
  });
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "fresh-Token"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = crawl_config(s.base_url() + "/");
  cfg["recrawl"] = {{"mode", "continuous"},
                    {"interval_ms", 300},
                    {"min_interval_ms", 200},
                    {"max_interval_ms", 2000},
                    {"jitter", 0}};
  const std::string id = svc.create(cfg);
  svc.wait_for(id, [](const json& v) {
    return v.at("stats").contains("recrawl") &&
           v.at("stats").at("recrawl").at("changes").at("not_modified").get<int>() >= 1;
  });
  const std::string artifacts = std::string(TRAWLER_BINARY_DIR) + "/test-artifacts";
  fs::create_directories(artifacts);
  const std::string shot = artifacts + "/dashboard-freshness.png";
  fs::remove(shot);
  const std::string base = "http://127.0.0.1:" + std::to_string(svc.port());
  auto run = run_process({"node", driver, base, "fresh-Token", id, shot}, {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << run.out;
  EXPECT_TRUE(out["console_errors"].empty()) << out["console_errors"].dump();
  const json& first = out["first"];
  const json& later = out["later"];
  for (const char* label : {"revisits waiting", "due now", "new", "changed", "unchanged",
                            "not modified (304)", "gone", "failed", "saved by 304s"}) {
    EXPECT_TRUE(first.contains(label)) << label << " " << first.dump();
  }
  EXPECT_EQ(first["new"], "3");
  EXPECT_NE(first["not modified (304)"], "0");
  const auto num = [](const json& v) { return std::stoi(v.get<std::string>()); };
  EXPECT_GT(num(later["changed"]), num(first["changed"])) << out.dump();
  // Nothing is queued, yet the host has work: its revisits (the table's fourth column).
  ASSERT_EQ(out["host_rows"].size(), 1u) << out.dump();
  EXPECT_EQ(out["host_rows"][0][0], s.base_url());
  EXPECT_EQ(out["host_rows"][0][1], "0");
  EXPECT_GE(num(out["host_rows"][0][3]), 1) << out.dump();
  EXPECT_GT(fs::file_size(shot), 10000u);
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

// A crawl whose pages link a 404 and a 500: the API lists them with their linking pages, and
// the dashboard shows 4xx/5xx beside the fetch errors and a Broken links table naming each URL,
// its status and the pages linking it. The screenshot is kept as a test artifact.
TEST(Dashboard, ListsBrokenLinksWithTheirLinkingPages) {
  const std::string driver = std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/broken-links.mjs";
  ASSERT_TRUE(
      fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/node_modules/playwright-core"))
      << "playwright-core is not installed: run scripts/install-deps.sh";
  test_server s;
  const std::string b = s.base_url();
  s.add_html("/", page({"/guide", "/about", "/missing"}));
  s.add_html("/guide", page({"/missing", "/boom", "/"}));
  s.add_html("/about", page({"/missing"}));
  response missing;
  missing.status = 404;
  missing.body = "<p>no such page</p>";
  s.add_page("/missing", missing);
  response boom;
  boom.status = 500;
  boom.body = "oops";
  s.add_page("/boom", boom);
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "broken-Token"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json cfg = crawl_config(b + "/");
  cfg["limits"] = {{"max_tries", 1}};
  const std::string id = svc.create(cfg);
  const json done = svc.wait_for(id, [](const json& v) { return v.contains("finished_at"); });
  ASSERT_EQ(done.at("state"), "completed") << done.dump();
  EXPECT_EQ(done.at("stats").at("http_errors"), 2) << done.dump();
  EXPECT_EQ(done.at("stats").at("errors"), json::object()) << done.dump();

  auto api = svc.call("GET", "/v1/crawls/" + id + "/broken-links");
  ASSERT_EQ(api.status, 200) << api.raw;
  const json listed = api.body_json();
  EXPECT_EQ(listed["listed"], 2);
  ASSERT_EQ(listed["broken_links"].size(), 2u) << listed.dump();
  const json& first = listed["broken_links"][0];
  EXPECT_EQ(first["url"], b + "/missing");
  EXPECT_EQ(first["status"], 404);
  EXPECT_EQ(first["linked_from_count"], 3);
  EXPECT_EQ(first["linked_from"][0], b + "/") << "the page it was found on comes first";
  EXPECT_EQ(listed["broken_links"][1], json({{"url", b + "/boom"},
                                             {"status", 500},
                                             {"linked_from_count", 1},
                                             {"linked_from", {b + "/guide"}}}));
  EXPECT_EQ(svc.call("GET", "/v1/crawls/nope/broken-links").status, 404);

  const std::string artifacts = std::string(TRAWLER_BINARY_DIR) + "/test-artifacts";
  fs::create_directories(artifacts);
  const std::string shot = artifacts + "/dashboard-broken-links.png";
  const std::string report = artifacts + "/dashboard-report.html";
  for (const auto& f :
       {shot, report, artifacts + "/dashboard-report.png", artifacts + "/dashboard-report.jsonl"})
    fs::remove(f);
  const std::string base = "http://127.0.0.1:" + std::to_string(svc.port());
  auto run = run_process({"node", driver, base, "broken-Token", id, shot, report}, {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << run.out;
  EXPECT_TRUE(out["console_errors"].empty()) << out["console_errors"].dump();
  // The crawl list and the cards say 2 answered 4xx/5xx beside 0 fetch errors.
  EXPECT_EQ(out["list_row"], json({{"http_errors", "2"}, {"errors", "0"}})) << out.dump();
  EXPECT_EQ(out["cards"]["4xx/5xx responses"], "2") << out.dump();
  EXPECT_EQ(out["cards"]["fetch errors"], "0") << out.dump();
  // The table lists the 404 with its linking pages, then the 500.
  ASSERT_EQ(out["broken_rows"].size(), 2u) << out.dump();
  const json& row = out["broken_rows"][0];
  EXPECT_EQ(row[0], b + "/missing");
  EXPECT_EQ(row[1], "404");
  EXPECT_EQ(row[2], "3");
  std::set<std::string> linking;
  for (const auto& p : row[3]) linking.insert(p.get<std::string>());
  EXPECT_EQ(linking, (std::set<std::string>{b + "/", b + "/guide", b + "/about"})) << out.dump();
  EXPECT_EQ(out["broken_rows"][1], json::array({b + "/boom", "500", "1", {b + "/guide"}}));
  EXPECT_TRUE(out["no_broken_hidden"].get<bool>());
  // "Download the report" saved the crawl's report, the page GET /v1/crawls/{id}/report serves.
  EXPECT_EQ(out["report_name"], "trawler-report-" + id + ".html") << out.dump();
  EXPECT_EQ(out["report_result"], "saved as trawler-report-" + id + ".html");
  EXPECT_EQ(out["report_title"], "trawler crawl report");
  EXPECT_EQ(out["report_h1"], "Crawl report");
  {
    std::ifstream in(report);
    const std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(saved, svc.call("GET", "/v1/crawls/" + id + "/report").body);
  }
  EXPECT_GT(fs::file_size(artifacts + "/dashboard-report.png"), 10000u);
  // "Download the records" saved the crawl's records file.
  EXPECT_EQ(out["records_name"], "trawler-records-" + id + ".jsonl") << out.dump();
  {
    std::ifstream saved_in(artifacts + "/dashboard-report.jsonl");
    const std::string saved((std::istreambuf_iterator<char>(saved_in)),
                            std::istreambuf_iterator<char>());
    std::ifstream records_in(done.at("output").get<std::string>());
    const std::string records((std::istreambuf_iterator<char>(records_in)),
                              std::istreambuf_iterator<char>());
    EXPECT_EQ(saved, records);
    EXPECT_EQ(read_records(artifacts + "/dashboard-report.jsonl").size(), 5u);
  }
  for (const auto& url : out["requests"]) {
    EXPECT_EQ(url.get<std::string>().rfind(base + "/", 0), 0u) << "a request elsewhere: " << url;
  }
  EXPECT_GT(fs::file_size(shot), 10000u);
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

// The new-crawl form as a user meets it, in a real chromium: a YAML config pasted with a misspelt
// key and a bad value lists both problems with their key paths; the fixed YAML starts the crawl;
// Cancel, apart from Pause and red, asks first: No leaves the crawl running, Yes cancels it. The
// finished crawl's row names its seed, start and end; its Delete asks too, and Yes takes it off
// the list, its files kept. The screenshots are kept as test artifacts.
TEST(Dashboard, NewCrawlFormTakesYamlListsEveryErrorAndCancelAsksFirst) {
  const std::string driver = std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/new-crawl.mjs";
  ASSERT_TRUE(
      fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/node_modules/playwright-core"))
      << "playwright-core is not installed: run scripts/install-deps.sh";
  test_server s;
  add_slow_chain(s, 300, 40ms);
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "form-Token"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();

  const std::string artifacts = std::string(TRAWLER_BINARY_DIR) + "/test-artifacts";
  fs::create_directories(artifacts);
  for (const char* name : {"dashboard-new-crawl-errors.png", "dashboard-cancel-confirm.png",
                           "dashboard-cancelled.png", "dashboard-delete-confirm.png"})
    fs::remove(artifacts + "/" + name);
  const std::string base = "http://127.0.0.1:" + std::to_string(svc.port());
  auto run =
      run_process({"node", driver, base, "form-Token", s.base_url() + "/p0", artifacts}, {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << run.out;
  EXPECT_TRUE(out["console_errors"].empty()) << out["console_errors"].dump();
  EXPECT_EQ(out["refused_posts"].size(), 1u) << out.dump();  // the bad config's 400
  // Both problems, each with its key path.
  EXPECT_EQ(out["summary"], "The crawl was not started: 2 problems.") << out.dump();
  ASSERT_EQ(out["problems"].size(), 2u) << out.dump();
  EXPECT_EQ(out["problem_lines"][0],
            "limits.concurency: unknown key; did you mean \"limits.concurrency\"?");
  EXPECT_EQ(out["problems"][1][0], "limits.per_host") << out.dump();
  EXPECT_NE(out["problems"][1][1].get<std::string>().find("got -1"), std::string::npos)
      << out.dump();
  // The good YAML started a crawl with its settings.
  const std::string id = out.value("started", "");
  ASSERT_FALSE(id.empty()) << out.dump();
  EXPECT_TRUE(out["errors_hidden_after_start"].get<bool>());
  // (Deleted from the dashboard since: the service's record of it stays in its folder.)
  std::ifstream kept(svc.data_dir() + "/" + id + "/crawl.deleted.json");
  const json record = json::parse(kept, nullptr, false);
  ASSERT_TRUE(record.is_object()) << "no crawl.deleted.json for " << id;
  EXPECT_EQ(record.at("state"), "cancelled");
  const json cfg = record.at("config");
  EXPECT_EQ(cfg.at("seeds"), json::array({s.base_url() + "/p0"}));
  EXPECT_EQ(cfg.at("limits").at("concurrency"), 4);
  EXPECT_EQ(cfg.at("scope").at("max_depth"), 1000);
  // Cancel is apart from Pause, in red, and asks first.
  EXPECT_GE(out["cancel_gap_px"].get<int>(), 32) << out.dump();
  EXPECT_EQ(out["cancel_color"], "rgb(208, 71, 60)") << out.dump();
  EXPECT_NE(out["pause_color"], out["cancel_color"]);
  EXPECT_EQ(out["confirm"], "Cancel this crawl?YesNo") << out.dump();
  EXPECT_TRUE(out["confirm_survives_refresh"].get<bool>());
  EXPECT_FALSE(out["page_overflows"].get<bool>()) << "the question pushes the page sideways";
  EXPECT_LE(out["confirm_overhang_px"].get<int>(), 0) << "the question sticks out of the list";
  EXPECT_EQ(out["state_after_no"], "running") << out.dump();
  EXPECT_FALSE(out["confirm_after_no"].get<bool>());
  EXPECT_EQ(out["state_after_yes"], "cancelled") << out.dump();
  EXPECT_EQ(out["buttons_after_cancel"], json::array({"Delete"}));
  // The list names the crawl by its seed, with its start and end.
  EXPECT_EQ(out["row"]["seeds"], s.base_url() + "/p0") << out.dump();
  const json listed = svc.call("GET", "/v1/crawls").body_json().at("crawls");
  ASSERT_EQ(listed.size(), 0u) << "deleted from the dashboard: " << listed.dump();
  ASSERT_EQ(out["row"]["times"].size(), 2u) << out.dump();
  for (const auto& t : out["row"]["times"]) {
    EXPECT_TRUE(std::regex_match(t[0].get<std::string>(),
                                 std::regex(R"((\d{4}-\d\d-\d\d )?\d\d:\d\d(:\d\d)?)")))
        << out.dump();
    EXPECT_TRUE(std::regex_match(t[1].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
        << out.dump();
  }
  EXPECT_LE(out["row"]["times"][0][1].get<std::string>(),
            out["row"]["times"][1][1].get<std::string>());
  // Delete asks first; Yes takes the crawl off the list and keeps its files.
  EXPECT_EQ(out["delete_confirm"], "Delete from the list? Its files stay.YesNo") << out.dump();
  EXPECT_TRUE(out["listed_after_no"].get<bool>());
  EXPECT_TRUE(out["detail_hidden_after_delete"].get<bool>());
  EXPECT_EQ(svc.call("GET", "/v1/crawls/" + id).status, 404);
  EXPECT_TRUE(fs::exists(svc.data_dir() + "/" + id + "/records.jsonl"));
  for (const auto& url : out["requests"]) {
    EXPECT_EQ(url.get<std::string>().rfind(base + "/", 0), 0u) << "a request elsewhere: " << url;
  }
  for (const char* name : {"dashboard-new-crawl-errors.png", "dashboard-cancel-confirm.png",
                           "dashboard-cancelled.png", "dashboard-delete-confirm.png"})
    EXPECT_GT(fs::file_size(artifacts + "/" + name), 10000u) << name;
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}

// A crawl's story in a real chromium: a paused crawl says so (the note, "paused" where the host
// table said "now", its elapsed time and pages/s standing still); a crawl that scope.max_pages
// stopped says why in the list and the detail, keeps its host table with the queued URLs noted
// as not fetched and why, and its chart runs over crawl time; a reload shows the same crawl and
// the same chart, read back from the service. The screenshots are kept as test artifacts.
TEST(Dashboard, TellsWhyACrawlEndedKeepsItsHostsAndChartAndStopsTheClockWhenPaused) {
  const std::string driver = std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/crawl-story.mjs";
  ASSERT_TRUE(
      fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/node_modules/playwright-core"))
      << "playwright-core is not installed: run scripts/install-deps.sh";
  test_server s;
  add_slow_chain(s, 400, 40ms);
  std::vector<std::string> links;
  for (int i = 0; i < 30; ++i) {
    links.push_back("/mp/p" + std::to_string(i));
    response r;
    r.body = page({});
    r.delay = 400ms;  // 13 pages one at a time: a chart of about five seconds
    s.add_page("/mp/p" + std::to_string(i), r);
  }
  s.add_html("/mp/", page(links));
  temp_dir dir;
  service svc(dir.path() + "/data", json{{"api", {{"token", "story-Token"}}}});
  ASSERT_TRUE(svc.up()) << svc.proc().err_so_far();
  json capped = crawl_config(s.base_url() + "/mp/");
  capped["scope"] = {{"max_pages", 13}};
  capped["limits"] = {{"per_host", 1}};
  const std::string ended_id = svc.create(capped);
  const std::string running_id = svc.create(chain_config(s.base_url() + "/p0"));
  // Three seconds of crawl time before the browser pauses it: a chart of a few points.
  svc.wait_for(running_id, [](const json& v) { return v.at("stats").at("elapsed_s") >= 3.0; });

  const std::string artifacts = std::string(TRAWLER_BINARY_DIR) + "/test-artifacts";
  fs::create_directories(artifacts);
  const char* shots[] = {"dashboard-paused.png", "dashboard-ended.png", "dashboard-reloaded.png"};
  for (const char* name : shots) fs::remove(artifacts + "/" + name);
  const std::string base = "http://127.0.0.1:" + std::to_string(svc.port());
  auto run =
      run_process({"node", driver, base, "story-Token", running_id, ended_id, artifacts}, {}, 150s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << run.out;
  EXPECT_TRUE(out["console_errors"].empty()) << out["console_errors"].dump();
  // Every step drew the whole page: the status line says "updated", never what went wrong.
  ASSERT_EQ(out["status"].size(), 4u) << out.dump();
  for (const auto& st : out["status"])
    EXPECT_EQ(st.get<std::string>().rfind("muted: updated ", 0), 0u) << out.dump();

  // Paused: said so, and its clock stands still.
  const json& paused = out["paused"];
  EXPECT_EQ(paused["list_state"], "paused");
  EXPECT_EQ(paused["why"],
            "Paused: no request starts until Resume. Elapsed time and pages/s leave paused time "
            "out.");
  ASSERT_FALSE(paused["next_cells"].empty()) << out.dump();
  for (const auto& cell : paused["next_cells"]) EXPECT_EQ(cell, "paused") << out.dump();
  EXPECT_EQ(paused["hosts_note"], "The crawl is paused: no host starts a request until Resume.");
  EXPECT_EQ(paused["elapsed_1"], paused["elapsed_2"]) << out.dump();
  EXPECT_EQ(paused["rate_1"], paused["rate_2"]) << out.dump();
  EXPECT_EQ(svc.get(running_id).at("state"), "paused");

  // Ended by scope.max_pages: why, in the list and the detail, as the API says it.
  const json api = svc.get(ended_id);
  ASSERT_EQ(api.at("end_reason"), "max_pages") << api.dump();
  const std::string why = api.at("end_message");
  EXPECT_EQ(why,
            "Stopped at scope.max_pages (13 pages with a response): 18 URLs stay queued, not "
            "fetched.");
  const json& ended = out["ended"];
  EXPECT_EQ(ended["list_reason"], "max pages reached");
  EXPECT_EQ(ended["list_title"], why);
  EXPECT_LE(ended["overhang_px"].get<int>(), 0) << "the list is wider than the page " << out.dump();
  EXPECT_FALSE(ended["page_overflows"].get<bool>());
  EXPECT_EQ(ended["why"], "Why it ended: " + why);
  // The host table stays, and says why its queued URLs were not fetched.
  EXPECT_EQ(ended["hosts_title"], "Hosts at the end");
  EXPECT_EQ(ended["hosts_note"],
            "As they were when the crawl ended: those with URLs left first, then the busiest. "
            "Their queued URLs were not fetched: scope.max_pages reached.");
  EXPECT_TRUE(ended["no_hosts_hidden"].get<bool>());
  ASSERT_EQ(ended["host_rows"].size(), 1u) << out.dump();
  const json& host = ended["host_rows"][0];
  EXPECT_EQ(host[0], s.base_url());
  EXPECT_EQ(host[1], "18");
  EXPECT_EQ(host[4], "-");
  EXPECT_EQ(host[5], "13");
  EXPECT_EQ(host[8], "not fetched: scope.max_pages reached");
  // The chart: pages/s over crawl time, its axis labelled.
  const json& chart = ended["chart"];
  EXPECT_EQ(chart["axis_title"], "crawl time (paused time left out)");
  ASSERT_FALSE(chart["ticks"].empty());
  EXPECT_EQ(chart["ticks"][0], "0:00");
  EXPECT_GE(chart["points"].get<int>(), 3) << out.dump();
  const json history = svc.call("GET", "/v1/crawls/" + ended_id + "/history").body_json();
  EXPECT_GE(chart["points"].get<std::size_t>() + 2, history.at("samples").size()) << out.dump();
  // A reload shows the same crawl and the very same chart.
  EXPECT_EQ(out["reloaded"]["hash"], "#crawl=" + ended_id);
  EXPECT_EQ(out["reloaded"]["chart"], chart) << out.dump();
  EXPECT_EQ(out["reloaded"]["chart_after_poll"], chart) << out.dump();
  // The rest of the detail is drawn too.
  EXPECT_EQ(ended["counts"],
            json::array({"status 2xx13", "status 3xx0", "status 4xx0", "status 5xx0"}))
      << out.dump();
  // And the paused crawl's points are there at once.
  EXPECT_GE(out["reloaded"]["paused_chart"]["points"].get<int>(), 2) << out.dump();
  EXPECT_EQ(out["reloaded"]["paused_chart"]["axis_title"], "crawl time (paused time left out)");

  for (const auto& url : out["requests"]) {
    EXPECT_EQ(url.get<std::string>().rfind(base + "/", 0), 0u) << "a request elsewhere: " << url;
  }
  for (const char* name : shots) EXPECT_GT(fs::file_size(artifacts + "/" + name), 10000u) << name;
  EXPECT_EQ(svc.stop(SIGTERM).exit_code, 0);
}
