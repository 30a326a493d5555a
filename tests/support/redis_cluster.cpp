#include "support/redis_cluster.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/redis_server.hpp"

namespace trawler::testing {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const char* const server_bin = "/usr/bin/redis-server";
const char* const cli_bin = "/usr/bin/redis-cli";

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    l = trim(l);
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// One line of CLUSTER NODES: "<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch>
// <link> <slot> <slot>...".
struct node_line {
  std::string id;
  std::uint16_t port = 0;
  std::string flags;
  std::string master_id;
  std::vector<std::pair<int, int>> slots;  // ranges; migration markers "[...]" left out
};

std::vector<node_line> parse_nodes(const std::string& text) {
  std::vector<node_line> out;
  for (const auto& l : lines(text)) {
    const auto w = words(l);
    if (w.size() < 8) continue;
    node_line n;
    n.id = w[0];
    const auto colon = w[1].rfind(':');
    const auto at = w[1].find('@');
    if (colon == std::string::npos) continue;
    n.port = static_cast<std::uint16_t>(std::atoi(w[1].substr(colon + 1, at - colon - 1).c_str()));
    n.flags = w[2];
    n.master_id = w[3];
    for (std::size_t i = 8; i < w.size(); ++i) {
      if (w[i].empty() || w[i][0] == '[') continue;
      const auto dash = w[i].find('-');
      const int lo = std::atoi(w[i].substr(0, dash).c_str());
      const int hi = dash == std::string::npos ? lo : std::atoi(w[i].substr(dash + 1).c_str());
      n.slots.emplace_back(lo, hi);
    }
    out.push_back(std::move(n));
  }
  return out;
}

bool has_flag(const node_line& n, const std::string& flag) {
  std::istringstream in(n.flags);
  for (std::string f; std::getline(in, f, ',');) {
    if (f == flag) return true;
  }
  return false;
}

}  // namespace

redis_cluster::redis_cluster(options opt) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "trawler-redis-cluster-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    why_ = "cannot make a temporary folder";
    return;
  }
  dir_ = tmpl;
  ok_ = start(opt);
  if (!ok_) {
    for (auto& n : nodes_) n.proc.reset();
  }
}

redis_cluster::~redis_cluster() {
  for (auto& n : nodes_) {
    if (!n.proc) continue;
    n.proc->signal(SIGKILL);
    n.proc->wait(10s);
    n.proc.reset();
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool redis_cluster::start_node(node& n, const options& opt) {
  n.dir = dir_ + "/" + std::to_string(n.port);
  std::filesystem::create_directories(n.dir);
  std::vector<std::string> argv = {
      server_bin, "--port", std::to_string(n.port), "--cluster-port", std::to_string(n.bus_port),
      "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
      "--cluster-node-timeout", std::to_string(opt.node_timeout_ms),
      // A replica may always take over (the test kills at once).
      "--cluster-replica-validity-factor", "0", "--save", "", "--appendonly", "no", "--dir", n.dir,
      "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "no"};
  try {
    n.proc = std::make_unique<running_process>(argv, environment{});
  } catch (const std::exception& e) {
    why_ = std::string("cannot start redis-server: ") + e.what();
    return false;
  }
  return true;
}

bool redis_cluster::start(const options& opt) {
  if (::access(server_bin, X_OK) != 0 || ::access(cli_bin, X_OK) != 0) {
    why_ =
        "redis-server and redis-cli are not installed (apt-get install redis-server; "
        "scripts/install-deps.sh does)";
    return false;
  }
  const int total = opt.masters * (1 + opt.replicas);
  if (opt.masters < 3) {
    why_ = "a Redis Cluster needs at least 3 masters";
    return false;
  }
  std::set<std::uint16_t> taken;
  auto fresh_port = [&] {
    for (;;) {
      const std::uint16_t p = free_port();
      if (taken.insert(p).second) return p;
    }
  };
  nodes_.resize(static_cast<std::size_t>(total));
  for (auto& n : nodes_) {
    n.port = fresh_port();
    n.bus_port = fresh_port();
    ports_.push_back(n.port);
    if (!start_node(n, opt)) return false;
  }
  const auto until = steady::now() + 10s;
  for (const auto& n : nodes_) {
    while (cli(n.port, {"PING"}) != "PONG") {
      if (steady::now() > until) {
        why_ = "redis-server did not answer on port " + std::to_string(n.port) + ": " +
               n.proc->err_so_far() + n.proc->out_so_far();
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  std::vector<std::string> create = {cli_bin, "--cluster", "create"};
  for (const auto p : ports_) create.push_back("127.0.0.1:" + std::to_string(p));
  create.insert(create.end(),
                {"--cluster-replicas", std::to_string(opt.replicas), "--cluster-yes"});
  const auto made = run_process(create, {}, 60s);
  if (made.exit_code != 0 || made.out.find("All 16384 slots covered") == std::string::npos) {
    why_ = "redis-cli --cluster create failed: " + made.out + made.err;
    return false;
  }
  // Settled: every node ok, knows every node, every replica attached and in sync.
  const auto settled_by = steady::now() + 30s;
  for (;;) {
    bool all = true;
    for (const auto p : ports_) {
      const auto info = lines(cli(p, {"CLUSTER", "INFO"}));
      const auto has = [&](const std::string& line) {
        return std::find(info.begin(), info.end(), line) != info.end();
      };
      if (!has("cluster_state:ok") || !has("cluster_known_nodes:" + std::to_string(total))) {
        all = false;
        break;
      }
      const auto view = parse_nodes(cli(p, {"CLUSTER", "NODES"}));
      const auto replicas = std::count_if(view.begin(), view.end(),
                                          [](const node_line& n) { return has_flag(n, "slave"); });
      if (replicas != opt.masters * opt.replicas) {
        all = false;
        break;
      }
      const std::string repl = cli(p, {"INFO", "replication"});
      if (repl.find("role:slave") != std::string::npos &&
          (repl.find("master_link_status:up") == std::string::npos ||
           repl.find("master_sync_in_progress:0") == std::string::npos)) {
        all = false;
        break;
      }
    }
    if (all && wait_settled(0ms)) break;
    if (steady::now() > settled_by) {
      why_ = "the Redis Cluster did not reach cluster_state:ok within 30 s";
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  // In slot order, each with the first slot it serves (to follow it through a failover).
  std::vector<std::pair<int, std::uint16_t>> firsts;
  for (const auto& n : parse_nodes(cli(ports_.front(), {"CLUSTER", "NODES"}))) {
    if (!has_flag(n, "master") || n.slots.empty()) continue;
    int first = 16384;
    for (const auto& range : n.slots) first = std::min(first, range.first);
    firsts.emplace_back(first, n.port);
  }
  std::sort(firsts.begin(), firsts.end());
  for (const auto& [first, port] : firsts) {
    masters_.push_back(port);
    first_slot_[port] = static_cast<std::uint16_t>(first);
  }
  return static_cast<int>(masters_.size()) == opt.masters;
}

std::string redis_cluster::url(std::uint16_t port) const {
  return "redis://127.0.0.1:" + std::to_string(port);
}

std::string redis_cluster::urls() const {
  std::string out;
  for (const auto p : ports_) out += (out.empty() ? "" : ",") + url(p);
  return out;
}

std::string redis_cluster::cli(std::uint16_t port, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {cli_bin, "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    return trim(run_process(argv, {}, 30s).out);
  } catch (const std::exception& e) {
    return std::string("ERR cannot run redis-cli: ") + e.what();
  }
}

std::string redis_cluster::node_id(std::uint16_t port) const {
  return cli(port, {"CLUSTER", "MYID"});
}

bool redis_cluster::alive(std::uint16_t port) const {
  return std::any_of(nodes_.begin(), nodes_.end(),
                     [&](const node& n) { return n.port == port && n.proc; });
}

std::vector<std::uint16_t> redis_cluster::live_ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& n : nodes_) {
    if (n.proc) out.push_back(n.port);
  }
  return out;
}

std::uint16_t redis_cluster::master_of_slot(std::uint16_t slot, std::uint16_t ask) const {
  if (ask == 0) {
    const auto live = live_ports();
    if (live.empty()) return 0;
    ask = live.front();
  }
  for (const auto& n : parse_nodes(cli(ask, {"CLUSTER", "NODES"}))) {
    if (!has_flag(n, "master")) continue;
    for (const auto& [lo, hi] : n.slots) {
      if (slot >= lo && slot <= hi) return n.port;
    }
  }
  return 0;
}

std::vector<std::uint16_t> redis_cluster::serving_masters() const {
  std::vector<std::uint16_t> out;
  const auto live = live_ports();
  if (live.empty()) return out;
  for (const auto& n : parse_nodes(cli(live.front(), {"CLUSTER", "NODES"}))) {
    if (has_flag(n, "master") && !has_flag(n, "fail") && !n.slots.empty()) out.push_back(n.port);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string redis_cluster::slot_view(std::uint16_t port) const {
  std::map<std::uint16_t, std::string> by_port;
  for (const auto& n : parse_nodes(cli(port, {"CLUSTER", "NODES"}))) {
    if (!has_flag(n, "master") || n.slots.empty()) continue;
    auto ranges = n.slots;
    std::sort(ranges.begin(), ranges.end());
    std::string s;
    for (const auto& [lo, hi] : ranges) s += " " + std::to_string(lo) + "-" + std::to_string(hi);
    by_port[n.port] = s;
  }
  std::string out;
  for (const auto& [p, s] : by_port) out += std::to_string(p) + ":" + s + ";";
  return out;
}

bool redis_cluster::wait_settled(std::chrono::milliseconds timeout) const {
  const auto until = steady::now() + timeout;
  for (;;) {
    bool ok = true;
    std::string first;
    for (const auto p : live_ports()) {
      if (cli(p, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
        ok = false;
        break;
      }
      const std::string view = slot_view(p);
      if (first.empty()) first = view;
      if (view != first) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
    if (steady::now() >= until) return false;
    std::this_thread::sleep_for(50ms);
  }
}

void redis_cluster::kill(std::uint16_t port) {
  for (auto& n : nodes_) {
    if (n.port != port || !n.proc) continue;
    n.proc->signal(SIGKILL);
    n.proc->wait(10s);
    n.proc.reset();
  }
}

std::uint16_t redis_cluster::kill_master(std::size_t i) {
  if (i >= masters_.size()) return 0;
  kill(masters_[i]);
  return masters_[i];
}

std::uint16_t redis_cluster::wait_failover(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto first = first_slot_.find(port);
  if (first == first_slot_.end()) return 0;
  const std::uint16_t slot = first->second;
  const auto until = steady::now() + timeout;
  for (;;) {
    // Every live node names the same live master for the dead one's slot, and all are ok.
    std::set<std::uint16_t> owners;
    for (const auto p : live_ports()) owners.insert(master_of_slot(slot, p));
    const std::uint16_t owner = owners.size() == 1 ? *owners.begin() : 0;
    if (owner != 0 && owner != port && alive(owner) && wait_settled(0ms)) return owner;
    if (steady::now() >= until) return 0;
    std::this_thread::sleep_for(50ms);
  }
}

std::vector<std::uint16_t> redis_cluster::migrate_slots(std::uint16_t from, std::uint16_t to,
                                                        int count) {
  std::vector<std::uint16_t> before;
  for (const auto& n : parse_nodes(cli(from, {"CLUSTER", "NODES"}))) {
    if (n.port != from) continue;
    for (const auto& [lo, hi] : n.slots) {
      for (int s = lo; s <= hi; ++s) before.push_back(static_cast<std::uint16_t>(s));
    }
  }
  const std::vector<std::string> argv = {
      cli_bin,           "--cluster",           "reshard",      "127.0.0.1:" + std::to_string(from),
      "--cluster-from",  node_id(from),         "--cluster-to", node_id(to),
      "--cluster-slots", std::to_string(count), "--cluster-yes"};
  const auto r = run_process(argv, {}, 120s);
  if (r.exit_code != 0 || !wait_settled(10s)) return {};
  std::vector<std::uint16_t> moved;
  for (const auto s : before) {
    if (master_of_slot(s, to) == to) moved.push_back(s);
    if (moved.size() == static_cast<std::size_t>(count)) break;
  }
  return moved;
}

bool redis_cluster::begin_migration(std::uint16_t slot, std::uint16_t from, std::uint16_t to) {
  const std::string s = std::to_string(slot);
  return cli(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(from)}) == "OK" &&
         cli(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(to)}) == "OK";
}

bool redis_cluster::migrate_keys(std::uint16_t from, std::uint16_t to,
                                 const std::vector<std::string>& keys) {
  if (keys.empty()) return true;
  std::vector<std::string> args = {"MIGRATE", "127.0.0.1", std::to_string(to), "", "0",
                                   "5000",    "KEYS"};
  args.insert(args.end(), keys.begin(), keys.end());
  const std::string r = cli(from, args);
  return r == "OK" || r == "NOKEY";
}

bool redis_cluster::finish_migration(std::uint16_t slot, std::uint16_t from, std::uint16_t to) {
  const std::string s = std::to_string(slot);
  for (;;) {
    const auto left = lines(cli(from, {"CLUSTER", "GETKEYSINSLOT", s, "100"}));
    if (left.empty()) break;
    if (!migrate_keys(from, to, left)) return false;
  }
  const std::string to_id = node_id(to);
  // The new owner first (it bumps its epoch), then the old one, then every other master.
  if (cli(to, {"CLUSTER", "SETSLOT", s, "NODE", to_id}) != "OK") return false;
  if (cli(from, {"CLUSTER", "SETSLOT", s, "NODE", to_id}) != "OK") return false;
  for (const auto p : serving_masters()) {
    if (p != to && p != from) cli(p, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
  }
  return wait_settled(10s);
}

}  // namespace trawler::testing
