#include "redis/cluster_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "redis/slot.hpp"

namespace trawler::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::uint16_t no_master = 0xffff;
constexpr milliseconds first_backoff{50};
constexpr milliseconds max_backoff{1000};
// Redirection rounds sent at once; past them a round waits the backoff first (a map that
// keeps pointing the wrong way must not spin).
constexpr int free_rounds = 3;

// A node as a redirection or CLUSTER SLOTS names it, with the credentials (and db) of the
// endpoint it was learned from.
endpoint at(const endpoint& creds, std::string host, std::uint16_t port) {
  endpoint ep = creds;
  // An empty host (or "?", 7.x) is "the node you asked": it does not know its own address.
  if (!host.empty() && host != "?") ep.host = std::move(host);
  ep.port = port;
  return ep;
}

// "MOVED 3999 127.0.0.1:6381", "ASK 3999 :6381", "MOVED 3999 ::1:6381": the node named.
std::optional<endpoint> redirect_target(const std::string& message, const endpoint& from) {
  const auto space = message.rfind(' ');
  if (space == std::string::npos) return std::nullopt;
  std::string_view addr = std::string_view(message).substr(space + 1);
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = addr.substr(0, colon);
  const std::string_view port_text = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return at(from, std::string(host), static_cast<std::uint16_t>(port));
}

enum class outcome { done, moved, ask, wait };

outcome classify(const reply& r) {
  if (!r.is_error()) return outcome::done;
  const std::string& s = r.str;
  if (s.starts_with("MOVED ")) return outcome::moved;
  if (s.starts_with("ASK ")) return outcome::ask;
  if (s.starts_with("TRYAGAIN") || s.starts_with("CLUSTERDOWN") || s.starts_with("LOADING")) {
    return outcome::wait;
  }
  return outcome::done;
}

error_code aborted() {
  return asio::error::operation_aborted;
}

}  // namespace

struct cluster_client::impl : std::enable_shared_from_this<impl> {
  struct master {
    endpoint ep;
    std::string addr;  // ep.address(), the key of `nodes`
    std::vector<endpoint> replicas;
  };

  impl(asio::any_io_executor e, std::vector<endpoint> s, cluster_options o)
      : ex(std::move(e)), seeds(std::move(s)), opt(o), refresh_signal(ex) {
    owner.fill(no_master);
  }

  asio::any_io_executor ex;
  std::vector<endpoint> seeds;
  cluster_options opt;
  // One connection per node, by host:port; shared so that an exec in flight keeps its own
  // even when a refresh drops the node from the map.
  std::map<std::string, std::shared_ptr<client>> nodes;
  std::vector<master> masters;
  std::array<std::uint16_t, slot_count> owner{};  // index into masters, or no_master
  bool loaded = false;
  bool stale = false;  // a connection failed: reload the map before the next exec
  bool cluster = false;
  bool closed = false;
  // One refresh at a time; the others wait for its outcome on the signal.
  bool refreshing = false;
  asio::steady_timer refresh_signal;
  error_code refresh_ec;
  std::string refresh_message;
  cluster_counts counts;
  std::uint64_t dropped_sent = 0;  // bytes of connections no longer in `nodes`
  std::uint64_t dropped_received = 0;
  std::set<asio::steady_timer*> sleeping;  // backoffs in progress: close() cuts them short

  std::shared_ptr<client> node_for(const endpoint& ep) {
    const std::string key = ep.address();
    auto it = nodes.find(key);
    if (it == nodes.end()) {
      it = nodes.emplace(key, std::make_shared<client>(ex, ep, opt.connection)).first;
    }
    return it->second;
  }

  void drop(std::map<std::string, std::shared_ptr<client>>::iterator it) {
    dropped_sent += it->second->bytes_sent();
    dropped_received += it->second->bytes_received();
    nodes.erase(it);  // closed when the last exec holding it is over
  }

  std::string seed_list() const {
    std::string out;
    for (const auto& s : seeds) out += (out.empty() ? "" : ",") + s.address();
    return out;
  }

  // Installs a new map; connections to nodes that serve no slot any more are dropped.
  void install(std::vector<master> ms, const std::array<std::uint16_t, slot_count>& own,
               bool is_cluster) {
    masters = std::move(ms);
    owner = own;
    cluster = is_cluster;
    loaded = true;
    for (auto it = nodes.begin(); it != nodes.end();) {
      const auto next = std::next(it);
      const bool used = std::any_of(masters.begin(), masters.end(),
                                    [&](const master& m) { return m.addr == it->first; });
      if (!used) drop(it);
      it = next;
    }
  }

  // The map in a CLUSTER SLOTS reply: [[start, end, [host, port, id, ...], replicas...], ...].
  bool install_slots(const reply& r, const endpoint& from, std::string& why) {
    std::vector<master> ms;
    std::array<std::uint16_t, slot_count> own;
    own.fill(no_master);
    for (const reply& range : r.elements) {
      if (range.elements.size() < 3) continue;
      const auto lo = range.elements[0].as_integer();
      const auto hi = range.elements[1].as_integer();
      if (!lo || !hi || *lo < 0 || *hi >= slot_count || *lo > *hi) continue;
      std::optional<std::size_t> index;
      for (std::size_t n = 2; n < range.elements.size(); ++n) {
        const reply& node = range.elements[n];
        if (node.elements.size() < 2) continue;
        const auto port = node.elements[1].as_integer();
        if (!port || *port < 1 || *port > 65535) continue;
        endpoint ep = at(from, node.elements[0].str, static_cast<std::uint16_t>(*port));
        if (n == 2) {
          const std::string addr = ep.address();
          auto it =
              std::find_if(ms.begin(), ms.end(), [&](const master& m) { return m.addr == addr; });
          if (it == ms.end()) it = ms.insert(ms.end(), master{std::move(ep), addr, {}});
          index = static_cast<std::size_t>(it - ms.begin());
        } else if (index) {
          auto& reps = ms[*index].replicas;
          const std::string addr = ep.address();
          if (std::none_of(reps.begin(), reps.end(),
                           [&](const endpoint& e) { return e.address() == addr; })) {
            reps.push_back(std::move(ep));
          }
        }
      }
      if (!index) continue;
      for (auto s = *lo; s <= *hi; ++s)
        own[static_cast<std::size_t>(s)] = static_cast<std::uint16_t>(*index);
    }
    if (ms.empty()) {
      why = "Redis at " + from.address() + " is in cluster mode but serves no slot yet";
      return false;
    }
    install(std::move(ms), own, true);
    return true;
  }

  // Asks the known nodes in turn (masters, their replicas, then the seeds) for the map.
  static asio::awaitable<std::pair<error_code, std::string>> load(std::shared_ptr<impl> self) {
    std::vector<endpoint> ask;
    std::set<std::string> listed;
    auto add = [&](const endpoint& ep) {
      if (listed.insert(ep.address()).second) ask.push_back(ep);
    };
    for (const auto& m : self->masters) add(m.ep);
    for (const auto& m : self->masters) {
      for (const auto& r : m.replicas) add(r);
    }
    for (const auto& s : self->seeds) add(s);

    std::pair<error_code, std::string> last{asio::error::not_found,
                                            "no Redis node to ask for the cluster's map"};
    for (const endpoint& ep : ask) {
      if (self->closed) co_return std::pair{aborted(), std::string("the Redis client was closed")};
      auto c = self->node_for(ep);
      std::vector<command> cmds;
      cmds.push_back(command{"CLUSTER", "SLOTS"});
      ++self->counts.round_trips;
      ++self->counts.commands;
      auto r = co_await c->exec(std::move(cmds));
      if (self->closed) co_return std::pair{aborted(), std::string("the Redis client was closed")};
      if (r.ec) {
        last = {r.ec, r.message};
        continue;
      }
      if (r.replies.empty()) continue;
      const reply& slots = r.replies.front();
      if (slots.is_error()) {
        if (slots.str.find("cluster support disabled") != std::string::npos) {
          // A single Redis: it serves every slot.
          std::array<std::uint16_t, slot_count> own;
          own.fill(0);
          std::vector<master> one;
          one.push_back(master{ep, ep.address(), {}});
          self->install(std::move(one), own, false);
          co_return std::pair{error_code{}, std::string{}};
        }
        last = {make_error_code(boost::system::errc::protocol_error),
                "Redis at " + ep.address() + " refused CLUSTER SLOTS: " + slots.str};
        continue;
      }
      std::string why;
      if (self->install_slots(slots, ep, why)) co_return std::pair{error_code{}, std::string{}};
      last = {make_error_code(boost::system::errc::protocol_error), std::move(why)};
    }
    co_return last;
  }

  // Reloads the map; callers arriving while a reload runs wait for it and share its outcome.
  static asio::awaitable<error_code> refresh(std::shared_ptr<impl> self) {
    if (self->closed) {
      self->refresh_message = "the Redis client was closed";
      co_return aborted();
    }
    if (self->refreshing) {
      co_await self->refresh_signal.async_wait(use_tuple);
      co_return self->refresh_ec;
    }
    self->refreshing = true;
    self->refresh_signal.expires_at(asio::steady_timer::time_point::max());
    // A failure seen while this reload runs marks the map stale again.
    self->stale = false;
    ++self->counts.refreshes;
    auto [ec, message] = co_await load(self);
    if (ec) {
      self->stale = true;
      message =
          "cannot load the slot map of the Redis cluster at " + self->seed_list() + ": " + message;
    }
    self->refresh_ec = ec;
    self->refresh_message = std::move(message);
    self->refreshing = false;
    self->refresh_signal.cancel();
    co_return ec;
  }

  static asio::awaitable<void> sleep(std::shared_ptr<impl> self, milliseconds d) {
    asio::steady_timer t(self->ex);
    t.expires_after(d);
    // Unlisted however the wait ends, also when the frame is destroyed with its io_context.
    struct listed {
      impl& s;
      asio::steady_timer* t;
      ~listed() { s.sleeping.erase(t); }
    } entry{*self, &t};
    self->sleeping.insert(&t);
    co_await t.async_wait(use_tuple);
  }

  // The commands, command i for slot slots[i], each sent to the master of its slot, its
  // redirections followed; replies in the order of the commands.
  static asio::awaitable<exec_result> run(std::shared_ptr<impl> self,
                                          std::vector<std::uint16_t> slots,
                                          std::vector<command> cmds) {
    exec_result out;
    const std::size_t n = cmds.size();
    if (n == 0) co_return out;
    if (self->closed) {
      out.ec = aborted();
      out.message = "the Redis client was closed";
      co_return out;
    }
    if (!self->loaded || self->stale) {
      if (auto ec = co_await refresh(self)) {
        out.ec = ec;
        out.message = self->refresh_message;
        co_return out;
      }
    }
    std::vector<reply> replies(n);
    std::vector<char> done(n, 0);
    std::vector<std::optional<endpoint>> redirect(n);  // MOVED or ASK: this node, once
    std::vector<char> asking(n, 0);                    // ASK: with ASKING before it
    std::size_t left = n;
    const auto deadline = clock_type::now() + self->opt.retry_for;
    milliseconds backoff = first_backoff;

    for (int round = 0;; ++round) {
      // Where each command goes, from the map as it is now (it may have changed at any
      // co_await: nothing from it is held across one).
      struct group {
        endpoint ep;
        std::vector<std::size_t> items;
      };
      std::vector<group> groups;
      for (std::size_t i = 0; i < n; ++i) {
        if (done[i]) continue;
        endpoint ep;
        if (redirect[i]) {
          ep = *redirect[i];
        } else {
          const std::uint16_t m = self->owner[slots[i]];
          if (m == no_master || m >= self->masters.size()) {
            self->stale = true;
            out.ec = asio::error::host_unreachable;
            out.message = "no master of the Redis cluster at " + self->seed_list() +
                          " serves slot " + std::to_string(slots[i]);
            co_return out;
          }
          ep = self->masters[m].ep;
        }
        const std::string addr = ep.address();
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const group& x) { return x.ep.address() == addr; });
        if (g == groups.end()) g = groups.insert(groups.end(), group{std::move(ep), {}});
        g->items.push_back(i);
      }

      bool moved = false;
      bool wait = false;
      bool down = false;
      for (const group& g : groups) {
        std::vector<command> pipeline;
        std::vector<std::size_t> which;  // the command of each reply; n for ASKING
        for (const std::size_t i : g.items) {
          if (asking[i]) {
            pipeline.push_back(command{"ASKING"});
            which.push_back(n);
          }
          pipeline.push_back(cmds[i]);
          which.push_back(i);
        }
        auto c = self->node_for(g.ep);
        ++self->counts.round_trips;
        self->counts.commands += pipeline.size();
        auto r = co_await c->exec(std::move(pipeline));
        if (self->closed) {
          out.ec = aborted();
          out.message = "the Redis client was closed";
          co_return out;
        }
        if (r.ec) {
          // The caller cannot know what ran; the map is reloaded before the next exec (the
          // node may be gone, its replica promoted).
          self->stale = true;
          out.ec = r.ec;
          out.message = std::move(r.message);
          co_return out;
        }
        for (std::size_t k = 0; k < which.size() && k < r.replies.size(); ++k) {
          const std::size_t i = which[k];
          if (i == n) continue;  // ASKING's +OK
          redirect[i].reset();
          asking[i] = 0;
          switch (classify(r.replies[k])) {
            case outcome::done:
              done[i] = 1;
              --left;
              break;
            case outcome::moved:
              ++self->counts.moved;
              moved = true;
              redirect[i] = redirect_target(r.replies[k].str, g.ep);
              break;
            case outcome::ask:
              ++self->counts.asked;
              redirect[i] = redirect_target(r.replies[k].str, g.ep);
              asking[i] = redirect[i] ? 1 : 0;
              break;
            case outcome::wait:
              ++self->counts.retried;
              wait = true;
              if (r.replies[k].str.starts_with("CLUSTERDOWN")) down = true;
              break;
          }
          replies[i] = std::move(r.replies[k]);
        }
      }
      if (left == 0) break;
      const auto now = clock_type::now();
      // Out of time: the error replies (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) go back as they are.
      if (now >= deadline) break;
      if (wait || round + 1 >= free_rounds) {
        const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now);
        co_await sleep(self, std::min(backoff, remaining + milliseconds(1)));
        backoff = std::min(backoff * 2, max_backoff);
        if (self->closed) {
          out.ec = aborted();
          out.message = "the Redis client was closed";
          co_return out;
        }
      }
      if (moved || down) {
        if (auto ec = co_await refresh(self)) {
          out.ec = ec;
          out.message = self->refresh_message;
          co_return out;
        }
      }
    }
    out.replies = std::move(replies);
    co_return out;
  }

  // exec_each's state shared with the pipelines it spawned.
  struct each_state {
    explicit each_state(const asio::any_io_executor& e, std::size_t count)
        : results(count), signal(e) {}
    std::vector<exec_result> results;
    std::size_t left = 0;
    asio::steady_timer signal;
  };

  // One master's share of exec_each: its batches as one pipeline, split back per batch.
  static asio::awaitable<void> run_group(std::shared_ptr<impl> self,
                                         std::shared_ptr<each_state> state,
                                         std::vector<std::size_t> batch_index,
                                         std::vector<std::size_t> batch_size,
                                         std::vector<std::uint16_t> slots,
                                         std::vector<command> cmds) {
    auto r = co_await run(self, std::move(slots), std::move(cmds));
    std::size_t at = 0;
    for (std::size_t b = 0; b < batch_index.size(); ++b) {
      exec_result& dst = state->results[batch_index[b]];
      dst.ec = r.ec;
      dst.message = r.message;
      if (!r.ec) {
        for (std::size_t k = 0; k < batch_size[b] && at < r.replies.size(); ++k, ++at) {
          dst.replies.push_back(std::move(r.replies[at]));
        }
      }
    }
    if (--state->left == 0) state->signal.cancel();
  }
};

cluster_client::cluster_client(asio::any_io_executor ex, std::vector<endpoint> seeds,
                               cluster_options opt)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(seeds), opt)) {}

cluster_client::~cluster_client() {
  close();
}

asio::awaitable<exec_result> cluster_client::exec(std::uint16_t slot,
                                                  std::vector<command> commands) {
  std::shared_ptr<impl> self = impl_;
  if (slot >= slot_count) {
    exec_result out;
    out.ec = asio::error::invalid_argument;
    out.message = "slot " + std::to_string(slot) + " is not a Redis cluster slot (0 to 16383)";
    co_return out;
  }
  std::vector<std::uint16_t> slots(commands.size(), slot);
  co_return co_await impl::run(std::move(self), std::move(slots), std::move(commands));
}

asio::awaitable<std::vector<exec_result>> cluster_client::exec_each(
    std::vector<std::pair<std::uint16_t, std::vector<command>>> batches) {
  std::shared_ptr<impl> self = impl_;
  auto state = std::make_shared<impl::each_state>(self->ex, batches.size());
  auto fail_all = [&](error_code ec, const std::string& message) {
    for (auto& r : state->results) {
      r.ec = ec;
      r.message = message;
    }
  };
  if (batches.empty()) co_return std::move(state->results);
  if (self->closed) {
    fail_all(aborted(), "the Redis client was closed");
    co_return std::move(state->results);
  }
  if (!self->loaded || self->stale) {
    if (auto ec = co_await impl::refresh(self)) {
      fail_all(ec, self->refresh_message);
      co_return std::move(state->results);
    }
  }
  // Grouped by the master of each batch's slot, in the order the batches were given.
  struct group {
    std::vector<std::size_t> batch_index, batch_size;
    std::vector<std::uint16_t> slots;
    std::vector<command> cmds;
  };
  std::map<std::uint16_t, group> groups;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    auto& [slot, cmds] = batches[b];
    if (slot >= slot_count) {
      state->results[b].ec = asio::error::invalid_argument;
      state->results[b].message =
          "slot " + std::to_string(slot) + " is not a Redis cluster slot (0 to 16383)";
      continue;
    }
    if (cmds.empty()) continue;
    group& g = groups[self->owner[slot]];
    g.batch_index.push_back(b);
    g.batch_size.push_back(cmds.size());
    g.slots.insert(g.slots.end(), cmds.size(), slot);
    for (auto& c : cmds) g.cmds.push_back(std::move(c));
  }
  if (groups.empty()) co_return std::move(state->results);
  state->left = groups.size();
  state->signal.expires_at(asio::steady_timer::time_point::max());
  for (auto& [m, g] : groups) {
    asio::co_spawn(self->ex,
                   impl::run_group(self, state, std::move(g.batch_index), std::move(g.batch_size),
                                   std::move(g.slots), std::move(g.cmds)),
                   asio::detached);
  }
  while (state->left > 0) co_await state->signal.async_wait(use_tuple);
  co_return std::move(state->results);
}

asio::awaitable<error_code> cluster_client::refresh() {
  co_return co_await impl::refresh(impl_);
}

bool cluster_client::is_cluster() const noexcept {
  return impl_->cluster;
}

std::size_t cluster_client::masters() const noexcept {
  return impl_->masters.size();
}

std::size_t cluster_client::master_of(std::uint16_t slot) const noexcept {
  if (slot >= slot_count) return 0;
  const std::uint16_t m = impl_->owner[slot];
  return m == no_master ? 0 : m;
}

std::string cluster_client::master_address(std::size_t i) const {
  return i < impl_->masters.size() ? impl_->masters[i].addr : std::string{};
}

asio::awaitable<exec_result> cluster_client::exec_on_master(std::size_t i,
                                                            std::vector<command> commands) {
  std::shared_ptr<impl> self = impl_;
  exec_result out;
  if (commands.empty()) co_return out;
  if (self->closed) {
    out.ec = aborted();
    out.message = "the Redis client was closed";
    co_return out;
  }
  if (!self->loaded || self->stale) {
    if (auto ec = co_await impl::refresh(self)) {
      out.ec = ec;
      out.message = self->refresh_message;
      co_return out;
    }
  }
  if (i >= self->masters.size()) {
    out.ec = asio::error::invalid_argument;
    out.message = "the Redis cluster at " + self->seed_list() + " has " +
                  std::to_string(self->masters.size()) + " masters, no master " + std::to_string(i);
    co_return out;
  }
  auto c = self->node_for(self->masters[i].ep);
  ++self->counts.round_trips;
  self->counts.commands += commands.size();
  out = co_await c->exec(std::move(commands));
  if (out.ec) self->stale = true;
  co_return out;
}

std::string cluster_client::address() const {
  return impl_->seed_list();
}

cluster_counts cluster_client::counts() const noexcept {
  cluster_counts c = impl_->counts;
  c.bytes_sent = impl_->dropped_sent;
  c.bytes_received = impl_->dropped_received;
  for (const auto& [addr, node] : impl_->nodes) {
    c.bytes_sent += node->bytes_sent();
    c.bytes_received += node->bytes_received();
  }
  return c;
}

void cluster_client::close() {
  impl& s = *impl_;
  s.closed = true;
  for (auto* t : s.sleeping) t->cancel();
  while (!s.nodes.empty()) {
    auto it = s.nodes.begin();
    it->second->close();
    s.drop(it);
  }
}

}  // namespace trawler::redis
