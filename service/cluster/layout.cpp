#include "cluster/layout.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/hash_mix.hpp"
#include "frontier/frontier.hpp"

namespace trawler::cluster {

int bucket_of(std::string_view host_key, int buckets) {
  if (buckets <= 1) return 0;
  // A second mix: url_hash's low bits also pick the seen subsets.
  return static_cast<int>(mix64(frontier::url_hash(host_key) ^ 0x9e3779b97f4a7c15ULL) %
                          static_cast<std::uint64_t>(buckets));
}

std::string crawl_prefix(std::string_view crawl) {
  std::string p = "trawler:{";
  p += crawl;
  p += "}:";
  return p;
}

std::string bucket_prefix(std::string_view crawl, int bucket) {
  std::string p = "trawler:{";
  p += crawl;
  p += ":b";
  p += std::to_string(bucket);
  p += "}:";
  return p;
}

std::string bell_key(std::string_view crawl, std::string_view worker) {
  std::string k = "trawler:{";
  k += crawl;
  k += ":w:";
  k += worker;
  k += "}:bell";
  return k;
}

fingerprint fingerprint::of(std::string_view url) {
  return fingerprint{frontier::url_hash(url)};
}

std::string fingerprint::decimal() const {
  return std::to_string(static_cast<std::int64_t>(value));
}

std::string fingerprint::raw() const {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

std::optional<fingerprint> fingerprint::from_raw(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return fingerprint{v};
}

shared_entry make_entry(std::string url, std::string host, int depth, int redirects_left,
                        bool sitemap, std::string referrer, bool requisite) {
  shared_entry e;
  e.requisite = requisite;
  e.url = std::move(url);
  e.host = std::move(host);
  e.depth = depth;
  e.redirects_left = redirects_left;
  e.sitemap = sitemap;
  e.referrer = std::move(referrer);
  return e;
}

namespace {

// The origin URLs of a host key's queue start with: "https://a.example:443" is written
// "https://a.example" in a normalized URL, a port other than the scheme's stays.
std::string origin_of(std::string_view host_key) {
  const auto colon = host_key.rfind(':');
  const auto scheme_end = host_key.find("://");
  if (colon == std::string_view::npos || scheme_end == std::string_view::npos ||
      colon < scheme_end + 3)
    return std::string(host_key);
  const auto scheme = host_key.substr(0, scheme_end);
  const auto port = host_key.substr(colon + 1);
  if ((scheme == "https" && port == "443") || (scheme == "http" && port == "80"))
    return std::string(host_key.substr(0, colon));
  return std::string(host_key);
}

// A URL of the queue's own origin is stored as its path ("/..."), any other whole.
void append_relative(std::string& out, const std::string& url, const std::string& origin) {
  if (url.size() > origin.size() && url.compare(0, origin.size(), origin) == 0 &&
      url[origin.size()] == '/') {
    out.append(url, origin.size(), std::string::npos);
  } else {
    out += url;
  }
}

std::string absolute(std::string_view stored, const std::string& origin) {
  if (!stored.empty() && stored.front() == '/') return origin + std::string(stored);
  return std::string(stored);
}

}  // namespace

std::string encode(const shared_entry& e) {
  const std::string origin = origin_of(e.host);
  std::string out = fingerprint::of(e.url).raw();
  out.reserve(8 + 12 + e.referrer.size() + e.url.size());
  out += std::to_string(e.depth);
  out += '\t';
  out += std::to_string(e.redirects_left);
  out += '\t';
  out += e.sitemap ? '1' : e.requisite ? '2' : '0';
  out += '\t';
  append_relative(out, e.referrer, origin);
  out += '\t';
  append_relative(out, e.url, origin);
  return out;
}

std::string encode_visit(const shared_entry& e, std::string_view row) {
  const std::string stored = encode(e);
  const auto n = static_cast<std::uint32_t>(stored.size());
  std::string out;
  out.reserve(4 + stored.size() + row.size());
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xffu);
  out += stored;
  out.append(row);
  return out;
}

std::optional<std::string> row_of_visit(std::string_view value) {
  if (value.size() < 4) return std::nullopt;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n |= static_cast<std::uint32_t>(static_cast<unsigned char>(value[static_cast<std::size_t>(i)]))
         << (8 * i);
  if (n < 8 || value.size() - 4 < n) return std::nullopt;
  return std::string(value.substr(4 + n));
}

std::optional<shared_entry> decode(std::string_view stored, std::string_view host) {
  if (stored.size() < 8 || host.empty()) return std::nullopt;
  std::string_view text = stored.substr(8);
  std::string_view f[4];
  for (auto& field : f) {
    const auto tab = text.find('\t');
    if (tab == std::string_view::npos) return std::nullopt;
    field = text.substr(0, tab);
    text.remove_prefix(tab + 1);
  }
  if (text.empty() || text.find('\t') != std::string_view::npos) return std::nullopt;
  const std::string origin = origin_of(host);
  const std::string url = absolute(text, origin);
  auto number = [](std::string_view s) -> std::optional<int> {
    int n = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return n;
  };
  const auto depth = number(f[0]);
  const auto redirects = number(f[1]);
  if (!depth || !redirects || (f[2] != "0" && f[2] != "1" && f[2] != "2")) return std::nullopt;
  // A damaged entry (another version's, or a hand edit) must not be fetched as another URL.
  if (fingerprint::of(url) != *fingerprint::from_raw(stored.substr(0, 8))) return std::nullopt;
  return make_entry(url, std::string(host), *depth, *redirects, f[2] == "1", absolute(f[3], origin),
                    f[2] == "2");
}

std::vector<std::string> sorted_workers(std::vector<std::string> workers) {
  std::sort(workers.begin(), workers.end());
  workers.erase(std::unique(workers.begin(), workers.end()), workers.end());
  return workers;
}

std::vector<int> assign_buckets(std::vector<std::string> workers, int buckets) {
  workers = sorted_workers(std::move(workers));
  std::vector<int> owner;
  if (workers.empty() || buckets <= 0) return owner;
  owner.assign(static_cast<std::size_t>(buckets), -1);
  const std::size_t n = workers.size();
  const int cap = static_cast<int>((static_cast<std::size_t>(buckets) + n - 1) / n);
  std::vector<std::uint64_t> wh(n);
  for (std::size_t w = 0; w < n; ++w) wh[w] = frontier::url_hash(workers[w]);
  // Every (bucket, worker) pair by its rendezvous score, best first; a bucket takes the first
  // worker that still has room. Greedy over all pairs rather than bucket by bucket: a bucket
  // numbered late is not pushed off its favourite because earlier buckets filled it up.
  struct pair {
    std::uint64_t score;
    int bucket;
    int worker;
  };
  std::vector<pair> pairs;
  pairs.reserve(static_cast<std::size_t>(buckets) * n);
  for (int b = 0; b < buckets; ++b) {
    const std::uint64_t bh = mix64(static_cast<std::uint64_t>(b) + 0x632be59bd9b4e019ULL);
    for (std::size_t w = 0; w < n; ++w)
      pairs.push_back({mix64(bh ^ wh[w]), b, static_cast<int>(w)});
  }
  std::sort(pairs.begin(), pairs.end(), [](const pair& a, const pair& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.bucket != b.bucket) return a.bucket < b.bucket;
    return a.worker < b.worker;
  });
  std::vector<int> load(n, 0);
  int left = buckets;
  for (const auto& p : pairs) {
    if (left == 0) break;
    auto& o = owner[static_cast<std::size_t>(p.bucket)];
    if (o >= 0 || load[static_cast<std::size_t>(p.worker)] >= cap) continue;
    o = p.worker;
    ++load[static_cast<std::size_t>(p.worker)];
    --left;
  }
  return owner;
}

}  // namespace trawler::cluster
