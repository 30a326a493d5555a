#include "recrawl/visit.hpp"

#include "common/hash_mix.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

namespace trawler::recrawl {

std::string_view change_name(change c) {
  switch (c) {
    case change::created:
      return "new";
    case change::changed:
      return "changed";
    case change::unchanged:
      return "unchanged";
    case change::not_modified:
      return "not_modified";
    case change::gone:
      return "gone";
    case change::failed:
      return "failed";
  }
  return "failed";
}

std::string_view gone_reason_name(gone_reason r) {
  switch (r) {
    case gone_reason::none:
      return "";
    case gone_reason::status_410:
      return "410";
    case gone_reason::status_404:
      return "404";
    case gone_reason::redirect:
      return "redirect";
    case gone_reason::robots:
      return "robots";
    case gone_reason::noindex:
      return "noindex";
    case gone_reason::unreachable:
      return "unreachable";
  }
  return "";
}

std::optional<digest> digest_of_hex(std::string_view hex) {
  if (hex.size() < 32) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return d;
}

// ---- encoding ------------------------------------------------------------------------------

namespace {

enum flag : std::uint8_t {
  f_indexed = 1,
  f_gone = 2,
  f_hub = 4,
  f_body = 8,
  f_text = 16,
  f_etag = 32,
  f_last_modified = 64,
  f_archived = 128,
};
constexpr std::uint8_t format_version = 1;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// A time that may be 0 ("never"): 0 stays 0, others are 1 + their zigzagged distance to `base`
// (times of one row lie close together, so they take 1 to 5 bytes instead of 6).
void put_time(std::string& out, millis t, millis base) {
  put_varint(out, t == 0 ? 0 : zigzag(base - t) + 1);
}

class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}
  bool byte(std::uint8_t& b) {
    if (i_ >= s_.size()) return false;
    b = static_cast<std::uint8_t>(s_[i_++]);
    return true;
  }
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!byte(b)) return false;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool time(millis& t, millis base) {
    std::uint64_t v = 0;
    if (!varint(v)) return false;
    t = v == 0 ? 0 : base - unzigzag(v - 1);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (s_.size() - i_ < n) return false;
    out = s_.substr(i_, n);
    i_ += n;
    return true;
  }
  bool at_end() const { return i_ == s_.size(); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// A WARC record ID "<urn:uuid:8-4-4-4-12 hex>" as its 16 bytes (tag 16), anything else as
// text (tag 0, a length, the bytes).
void put_record_id(std::string& out, const std::string& id) {
  static constexpr std::string_view prefix = "<urn:uuid:";
  std::string raw;
  if (id.size() == prefix.size() + 36 + 1 && id.starts_with(prefix) && id.back() == '>') {
    std::string_view hex(id.data() + prefix.size(), 36);
    for (std::size_t i = 0; i < hex.size(); ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (hex[i] != '-') break;
        continue;
      }
      if (!std::isxdigit(static_cast<unsigned char>(hex[i])) || (hex[i] >= 'A' && hex[i] <= 'F')) {
        break;
      }
      raw.push_back(hex[i]);
    }
  }
  if (raw.size() == 32) {
    out.push_back(16);
    for (std::size_t i = 0; i < 32; i += 2) {
      auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
      out.push_back(static_cast<char>(nib(raw[i]) * 16 + nib(raw[i + 1])));
    }
    return;
  }
  out.push_back(0);
  put_varint(out, id.size());
  out += id;
}

// "sha1:" + 32 base32 characters as its 20 bytes (tag 20), anything else as text (tag 0).
constexpr std::string_view base32_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void put_payload_digest(std::string& out, const std::string& d) {
  if (d.size() == 37 && d.starts_with("sha1:")) {
    std::string bytes;
    std::uint64_t acc = 0;
    int bits = 0;
    bool ok = true;
    for (char c : std::string_view(d).substr(5)) {
      const auto v = base32_alphabet.find(c);
      if (v == std::string_view::npos) {
        ok = false;
        break;
      }
      acc = (acc << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
      }
    }
    if (ok && bytes.size() == 20) {
      out.push_back(20);
      out += bytes;
      return;
    }
  }
  out.push_back(0);
  put_varint(out, d.size());
  out += d;
}

}  // namespace

std::string encode(const visit_row& r) {
  std::string out;
  out.reserve(96);
  out.push_back(static_cast<char>(format_version));
  std::uint8_t flags = 0;
  if (r.indexed) flags |= f_indexed;
  if (r.gone) flags |= f_gone;
  if (r.hub) flags |= f_hub;
  if (r.body) flags |= f_body;
  if (r.text) flags |= f_text;
  if (!r.etag.empty()) flags |= f_etag;
  if (r.last_modified != 0) flags |= f_last_modified;
  if (r.archived) flags |= f_archived;
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(r.reason));
  out.push_back(static_cast<char>(r.not_found));
  put_varint(out, r.visits);
  put_varint(out, r.checks);
  put_varint(out, r.changes);
  put_varint(out, static_cast<std::uint64_t>(std::max<millis>(0, r.observed)));
  put_varint(out, zigzag(r.last_visit));
  put_varint(out, zigzag(r.next_due - r.last_visit));
  put_varint(out, zigzag(r.interval));
  put_time(out, r.last_change, r.last_visit);
  put_time(out, r.last_full, r.last_visit);
  put_time(out, r.failing_since, r.last_visit);
  put_time(out, r.last_404, r.last_visit);
  if (r.body) out.append(reinterpret_cast<const char*>(r.body->data()), r.body->size());
  if (r.text) out.append(reinterpret_cast<const char*>(r.text->data()), r.text->size());
  if (!r.etag.empty()) {
    put_varint(out, r.etag.size());
    out += r.etag;
  }
  // Whole seconds: that is all an HTTP-date holds.
  if (r.last_modified != 0) put_varint(out, zigzag(r.last_modified / 1000));
  put_varint(out, r.size);
  if (r.archived) {
    put_record_id(out, r.archived->record_id);
    put_varint(out, zigzag(r.last_visit * 1000 - r.archived->date_us));
    put_payload_digest(out, r.archived->payload_digest);
  }
  return out;
}

std::optional<visit_row> decode(std::string_view bytes) {
  reader in(bytes);
  visit_row r;
  std::uint8_t version = 0, flags = 0, reason = 0;
  std::uint64_t v = 0;
  if (!in.byte(version) || version != format_version) return std::nullopt;
  if (!in.byte(flags) || !in.byte(reason) || !in.byte(r.not_found)) return std::nullopt;
  if (reason > static_cast<std::uint8_t>(gone_reason::unreachable)) return std::nullopt;
  r.reason = static_cast<gone_reason>(reason);
  r.indexed = flags & f_indexed;
  r.gone = flags & f_gone;
  r.hub = flags & f_hub;
  if (!in.varint(v) || v > UINT32_MAX) return std::nullopt;
  r.visits = static_cast<std::uint32_t>(v);
  if (!in.varint(v) || v > UINT32_MAX) return std::nullopt;
  r.checks = static_cast<std::uint32_t>(v);
  if (!in.varint(v) || v > UINT32_MAX) return std::nullopt;
  r.changes = static_cast<std::uint32_t>(v);
  if (!in.varint(v) || v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  r.observed = static_cast<millis>(v);
  if (!in.varint(v)) return std::nullopt;
  r.last_visit = unzigzag(v);
  if (!in.varint(v)) return std::nullopt;
  r.next_due = r.last_visit + unzigzag(v);
  if (!in.varint(v)) return std::nullopt;
  r.interval = unzigzag(v);
  if (!in.time(r.last_change, r.last_visit) || !in.time(r.last_full, r.last_visit) ||
      !in.time(r.failing_since, r.last_visit) || !in.time(r.last_404, r.last_visit)) {
    return std::nullopt;
  }
  std::string_view raw;
  if (flags & f_body) {
    if (!in.bytes(16, raw)) return std::nullopt;
    r.body.emplace();
    std::copy(raw.begin(), raw.end(), r.body->begin());
  }
  if (flags & f_text) {
    if (!in.bytes(16, raw)) return std::nullopt;
    r.text.emplace();
    std::copy(raw.begin(), raw.end(), r.text->begin());
  }
  if (flags & f_etag) {
    if (!in.varint(v) || v == 0 || v > 4096 || !in.bytes(static_cast<std::size_t>(v), raw))
      return std::nullopt;
    r.etag = std::string(raw);
  }
  if (flags & f_last_modified) {
    if (!in.varint(v)) return std::nullopt;
    r.last_modified = unzigzag(v) * 1000;
  }
  if (!in.varint(r.size)) return std::nullopt;
  if (flags & f_archived) {
    capture c;
    std::uint8_t tag = 0;
    if (!in.byte(tag)) return std::nullopt;
    if (tag == 16) {
      if (!in.bytes(16, raw)) return std::nullopt;
      static constexpr char hex[] = "0123456789abcdef";
      std::string h;
      for (char ch : raw) {
        const auto b = static_cast<std::uint8_t>(ch);
        h += hex[b >> 4];
        h += hex[b & 15];
      }
      c.record_id = "<urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) +
                    "-" + h.substr(16, 4) + "-" + h.substr(20) + ">";
    } else if (tag == 0) {
      if (!in.varint(v) || v > 4096 || !in.bytes(static_cast<std::size_t>(v), raw))
        return std::nullopt;
      c.record_id = std::string(raw);
    } else {
      return std::nullopt;
    }
    if (!in.varint(v)) return std::nullopt;
    c.date_us = r.last_visit * 1000 - unzigzag(v);
    if (!in.byte(tag)) return std::nullopt;
    if (tag == 20) {
      if (!in.bytes(20, raw)) return std::nullopt;
      std::string d = "sha1:";
      std::uint64_t acc = 0;
      int bits = 0;
      for (char ch : raw) {
        acc = (acc << 8) | static_cast<std::uint8_t>(ch);
        bits += 8;
        while (bits >= 5) {
          bits -= 5;
          d += base32_alphabet[(acc >> bits) & 31];
        }
      }
      c.payload_digest = std::move(d);
    } else if (tag == 0) {
      if (!in.varint(v) || v > 4096 || !in.bytes(static_cast<std::size_t>(v), raw))
        return std::nullopt;
      c.payload_digest = std::string(raw);
    } else {
      return std::nullopt;
    }
    r.archived = std::move(c);
  }
  if (!in.at_end()) return std::nullopt;
  return r;
}

// ---- the rule ------------------------------------------------------------------------------

namespace {

// In [-1, 1), the same for the same URL and visit.
double jitter_unit(std::uint64_t seed, std::uint32_t visit) {
  const std::uint64_t h = mix64(seed ^ (0x9e3779b97f4a7c15ull * (visit + 1ull)));
  return static_cast<double>(h >> 11) / static_cast<double>(1ull << 52) - 1.0;
}

millis clamp(millis v, millis lo, millis hi) {
  return std::max(lo, std::min(v, hi));
}

// An ETag longer than this is not kept (If-Modified-Since still works): rows stay small.
constexpr std::size_t max_etag = 256;

// 1 - e^-x (1 + x): how much freshness one more visit per unit of time buys, times the rate.
double marginal(double x) {
  return 1.0 - std::exp(-x) * (1.0 + x);
}

// The interval after an answered revisit (see policy): the change rate estimated from the
// row's checks, the freshest interval for it, bounded per step by grow and shrink, then by the
// minimum and maximum.
millis next_interval(const visit_row& r, millis previous, const policy& p, millis lo, millis hi) {
  const double base = static_cast<double>(clamp(p.interval, lo, hi));
  constexpr double prior_changes = 0.6321205588285577;  // 1 - 1/e: one check at `base`
  const double n = r.checks + 1.0;
  const double x_changed = std::min(static_cast<double>(r.changes), n - 1.0) + prior_changes;
  const double mean = (static_cast<double>(r.observed) + base) / n;
  const double rate = -std::log((n - x_changed + 0.5) / (n + 0.5)) / mean;
  const double target = marginal(1.0) * base * rate;
  double want = base;
  if (target < 0.95 && rate > 0) {
    double a = 0, b = 64;
    for (int i = 0; i < 60; ++i) {
      const double m = (a + b) / 2;
      (marginal(m) < target ? a : b) = m;
    }
    want = a / rate;
  }
  const double old = static_cast<double>(previous);
  const double up = old * (1.0 + std::max(0.0, p.grow));
  const double down = old - std::clamp(p.shrink, 0.0, 1.0) * (old - static_cast<double>(lo));
  want = std::clamp(want, std::min(down, up), std::max(down, up));
  if (!std::isfinite(want)) want = base;
  return clamp(static_cast<millis>(std::llround(want)), lo, hi);
}

// One more check for the change-rate estimate: the time since the last answered visit, and
// whether a change was found. Counts halve together before they saturate, so the estimate
// follows a page whose habits change.
void observe(visit_row& r, const visit_row& prev, millis now, bool changed) {
  if (r.checks >= 255) {
    r.checks /= 2;
    r.changes /= 2;
    r.observed /= 2;
  }
  ++r.checks;
  if (changed) ++r.changes;
  r.observed += std::max<millis>(0, now - prev.last_visit);
}

}  // namespace

decision decide(const std::optional<visit_row>& prev, const outcome& o, millis now, const policy& p,
                bool hub, std::uint64_t seed) {
  decision d;
  visit_row& r = d.row;
  if (prev) r = *prev;
  const bool was_indexed = prev && prev->indexed;
  const bool was_gone = prev && prev->gone;
  const millis lo = std::max<millis>(1, std::min(p.min_interval, p.max_interval));
  const millis hi = std::max(lo, p.max_interval);
  r.hub = r.hub || hub;
  ++r.visits;
  r.last_visit = now;
  if (r.interval <= 0) r.interval = r.hub ? lo : clamp(p.interval, lo, hi);

  // The delay before the next visit, before jitter.
  millis wait = r.interval;
  auto make_gone = [&](gone_reason why) {
    d.what = change::gone;
    d.reason = why;
    if (!was_gone) r.last_change = now;
    r.indexed = false;
    r.gone = true;
    r.reason = why;
    // Checked again at the longest interval: a page that comes back is new again.
    r.interval = hi;
    wait = hi;
  };

  if (o.what != outcome::kind::not_found) {
    r.not_found = 0;
    r.last_404 = 0;
  }
  if (o.what == outcome::kind::ok || o.what == outcome::kind::not_modified) r.failing_since = 0;

  switch (o.what) {
    case outcome::kind::ok: {
      const bool same_body = prev && prev->body && o.body && *prev->body == *o.body;
      const bool same_text = prev && prev->text && o.text && *prev->text == *o.text;
      d.validators_ignored = o.validators_sent && same_body;
      r.last_full = now;
      // Validators from a cut body would vouch for bytes never seen.
      if (o.truncated) {
        r.etag.clear();
        r.last_modified = 0;
      } else {
        r.etag = o.etag.size() <= max_etag ? o.etag : std::string();
        r.last_modified = 0;
        if (!o.last_modified.empty()) {
          if (auto t = parse_http_date(o.last_modified)) r.last_modified = *t;
        }
      }
      if (o.noindex) {
        r.body = o.body;
        r.text = o.text;
        make_gone(gone_reason::noindex);
        break;
      }
      if (!was_indexed) {
        d.what = change::created;
        r.last_change = now;
        r.interval = r.hub ? lo : clamp(p.interval, lo, hi);
      } else {
        const bool same = same_body || same_text;
        d.what = same ? change::unchanged : change::changed;
        if (!same) r.last_change = now;
        observe(r, *prev, now, !same);
        r.interval = r.hub ? lo : next_interval(r, prev->interval, p, lo, hi);
      }
      r.body = o.body;
      r.text = o.text;
      r.size = o.size;
      if (o.archived) r.archived = o.archived;
      r.indexed = true;
      r.gone = false;
      r.reason = gone_reason::none;
      wait = r.interval;
      break;
    }
    case outcome::kind::not_modified:
      // Only a request with validators gets here, and only indexed URLs send them.
      d.what = was_indexed ? change::not_modified : change::failed;
      if (was_indexed) {
        observe(r, *prev, now, false);
        r.interval = r.hub ? lo : next_interval(r, prev->interval, p, lo, hi);
      }
      wait = r.interval;
      break;
    case outcome::kind::removed:
      make_gone(gone_reason::status_410);
      break;
    case outcome::kind::not_found: {
      if (was_gone) {
        make_gone(gone_reason::status_404);
        break;
      }
      // Only 404s at least the minimum interval apart count: a flapping 404 is not a deletion.
      if (r.not_found == 0 || now - r.last_404 >= lo) {
        if (r.not_found < 255) ++r.not_found;
        r.last_404 = now;
      }
      if (r.not_found >= p.gone_after) {
        make_gone(gone_reason::status_404);
      } else {
        d.what = change::failed;
        // The confirming visit: when it can count, and no sooner than a failed visit is retried
        // (a short outage that answers 404 twice an hour apart is no deletion).
        wait = std::max(lo, std::min(p.error_interval, hi));
      }
      break;
    }
    case outcome::kind::redirect:
      if (was_indexed || was_gone) {
        make_gone(gone_reason::redirect);
      } else {
        d.what = change::failed;
        wait = r.interval;
      }
      break;
    case outcome::kind::robots:
      if (was_indexed || was_gone) {
        make_gone(gone_reason::robots);
      } else {
        d.what = change::failed;
        wait = hi;
      }
      break;
    case outcome::kind::failed:
      if (r.failing_since == 0) r.failing_since = now;
      if (was_gone) {
        d.what = change::gone;
        d.reason = r.reason;
        wait = hi;
      } else if (was_indexed && now - r.failing_since >= p.unreachable) {
        make_gone(gone_reason::unreachable);
      } else {
        d.what = change::failed;
        wait = std::max<millis>(1, std::min(p.error_interval, hi));
      }
      break;
  }
  const double j = std::clamp(p.jitter, 0.0, 1.0) * jitter_unit(seed, r.visits);
  r.next_due =
      now +
      std::max<millis>(1, static_cast<millis>(std::llround(static_cast<double>(wait) * (1.0 + j))));
  return d;
}

validators validators_for(const visit_row& r, millis now, const policy& p) {
  validators v;
  if (!r.indexed || r.last_full == 0) return v;
  if (now - r.last_full >= p.max_interval) return v;
  v.if_none_match = r.etag;
  if (r.last_modified != 0) v.if_modified_since = imf_fixdate(r.last_modified);
  return v;
}

// ---- HTTP dates ----------------------------------------------------------------------------

namespace {

int month_of(std::string_view m) {
  static constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (names[i] == m) return i;
  }
  return -1;
}

bool digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

bool clock_of(std::string_view s, int& h, int& m, int& sec) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && digits(s.substr(0, 2), h) &&
         digits(s.substr(3, 2), m) && digits(s.substr(6, 2), sec) && h < 24 && m < 60 && sec <= 60;
}

std::optional<millis> to_millis(int year, int month, int day, int h, int m, int s) {
  if (month < 0 || day < 1 || day > 31 || year < 1970 || year > 9999) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = std::min(s, 59);
  return static_cast<millis>(timegm(&tm)) * 1000;
}

}  // namespace

std::optional<millis> parse_http_date(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  int day = 0, year = 0, h = 0, m = 0, sec = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() == 29 && s[3] == ',' && s.substr(25) == " GMT") {
    if (!digits(s.substr(5, 2), day) || !digits(s.substr(12, 4), year) ||
        !clock_of(s.substr(17, 8), h, m, sec) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ') {
      return std::nullopt;
    }
    return to_millis(year, month_of(s.substr(8, 3)), day, h, m, sec);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years: RFC 9110 5.6.7's 50-year rule
  // read as 1970-2069).
  if (auto comma = s.find(", "); comma != std::string_view::npos && comma > 3 &&
                                 s.size() == comma + 24 && s.substr(s.size() - 4) == " GMT") {
    auto rest = s.substr(comma + 2);
    if (rest[2] != '-' || rest[6] != '-' || rest[9] != ' ' || !digits(rest.substr(0, 2), day) ||
        !digits(rest.substr(7, 2), year) || !clock_of(rest.substr(10, 8), h, m, sec)) {
      return std::nullopt;
    }
    year += year < 70 ? 2000 : 1900;
    return to_millis(year, month_of(rest.substr(3, 3)), day, h, m, sec);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
    auto d = s.substr(8, 2);
    if (d[0] == ' ') d.remove_prefix(1);
    if (!digits(d, day) || !clock_of(s.substr(11, 8), h, m, sec) ||
        !digits(s.substr(20, 4), year)) {
      return std::nullopt;
    }
    return to_millis(year, month_of(s.substr(4, 3)), day, h, m, sec);
  }
  return std::nullopt;
}

std::string imf_fixdate(millis t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

}  // namespace trawler::recrawl
