#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "record/record.hpp"

// The record is written by hand rather than through nlohmann::json: it is on the hot path
// (one line per page), and building a json value would copy every link and allocate a node
// per field. Each string is validated, repaired and escaped in one pass straight into the line.
namespace trawler::record {

namespace {

// For bytes below 0x80: 0 = copy as is, 1 = needs an escape. Bytes from 0x80 go through the
// UTF-8 check.
constexpr auto make_escape_table() {
  struct table {
    bool escape[128];
  } t{};
  for (int c = 0; c < 0x20; ++c) t.escape[c] = true;
  t.escape[static_cast<int>('"')] = true;
  t.escape[static_cast<int>('\\')] = true;
  return t;
}
constexpr auto escape_table = make_escape_table();

void append_escaped(std::string& out, std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  const auto end = p + s.size();
  auto run = p;
  auto flush = [&] {
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
  };
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      if (!escape_table.escape[c]) {
        ++p;
        continue;
      }
      flush();
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        default: {
          static constexpr char hex[] = "0123456789abcdef";
          const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0F]};
          out.append(esc, sizeof esc);
        }
      }
      run = ++p;
      continue;
    }
    std::size_t bad = 0;
    const std::size_t n = utf8_sequence_length(p, end, bad);
    if (n != 0) {
      p += n;
      continue;
    }
    flush();
    out.append(replacement_character);
    p += bad;
    run = p;
  }
  flush();
}

class line_writer {
 public:
  explicit line_writer(std::string& out) : out_(out) {}

  void key(std::string_view k) {
    out_ += first_ ? '{' : ',';
    first_ = false;
    out_ += '"';
    out_.append(k);  // keys are ours: plain ASCII
    out_.append("\":");
  }
  void string(std::string_view s) {
    out_ += '"';
    append_escaped(out_, s);
    out_ += '"';
  }
  void null() { out_.append("null"); }
  void boolean(bool b) { out_.append(b ? "true" : "false"); }
  template <class Int>
  void integer(Int v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, res.ptr);
  }
  void number(double v) {
    // Microsecond resolution is all a timing needs; shortest round-trip form after rounding
    // gives "12.345" rather than "12.345000000000001". JSON has no NaN or infinity.
    if (!std::isfinite(v) || v < 0) v = 0;
    v = std::round(v * 1000.0) / 1000.0;
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, res.ptr);
  }
  void optional_string(const std::optional<std::string>& s) {
    if (s)
      string(*s);
    else
      null();
  }
  void string_array(const std::vector<std::string>& items) {
    out_ += '[';
    bool first = true;
    for (const auto& item : items) {
      if (!first) out_ += ',';
      first = false;
      string(item);
    }
    out_ += ']';
  }
  void close() { out_.append(first_ ? "{}\n" : "}\n"); }

  std::string& out() { return out_; }

 private:
  std::string& out_;
  bool first_ = true;
};

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Names lowercased, repeats joined with ", " (RFC 9110 section 5.3) in arrival order, each
// name placed where it first appeared.
void write_headers(line_writer& w,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string& out = w.out();
  const std::size_t n = headers.size();
  if (n == 0) {
    out.append("{}");
    return;
  }
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::vector<std::string> lower(n);
  std::vector<std::size_t> next(n, none);  // next header with the same name
  std::vector<bool> repeat(n, false);
  std::unordered_map<std::string_view, std::size_t> last;  // name -> its latest index
  last.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& name = headers[i].first;
    lower[i].resize(name.size());
    for (std::size_t k = 0; k < name.size(); ++k) lower[i][k] = ascii_lower(name[k]);
    auto [it, inserted] = last.try_emplace(lower[i], i);
    if (!inserted) {
      next[it->second] = i;
      it->second = i;
      repeat[i] = true;
    }
  }
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (repeat[i]) continue;
    if (!first) out += ',';
    first = false;
    w.string(lower[i]);
    out.append(":\"");
    append_escaped(out, headers[i].second);
    for (std::size_t j = next[i]; j != none; j = next[j]) {
      out.append(", ");
      append_escaped(out, headers[j].second);
    }
    out += '"';
  }
  out += '}';
}

std::size_t size_estimate(const fetch_record& r, const output_fields& f) {
  std::size_t n = 400 + r.url.size() + r.error_message.size();
  if (r.redirect) n += r.redirect->size();
  if (r.referrer) n += r.referrer->size();
  if (f.links)
    for (const auto& l : r.links) n += l.size() + 3;
  if (f.title && r.title) n += r.title->size();
  if (f.headers)
    for (const auto& [k, v] : r.headers) n += k.size() + v.size() + 6;
  if (f.text) n += r.text.size() + r.text.size() / 16;
  if (f.canonical && r.canonical) n += r.canonical->size();
  if (f.meta_robots)
    for (const auto& t : r.meta_robots) n += t.size() + 3;
  return n;
}

}  // namespace

std::string to_json_line(const fetch_record& r, const output_fields& f) {
  std::string out;
  out.reserve(size_estimate(r, f));
  line_writer w(out);
  w.key("url");
  w.string(r.url);
  w.key("status");
  if (r.status)
    w.integer(*r.status);
  else
    w.null();
  w.key("error");
  if (r.error) {
    out.append("{\"kind\":\"");
    out.append(to_string(*r.error));
    out.append("\",\"message\":");
    w.string(r.error_message);
    out += '}';
  } else {
    w.null();
  }
  w.key("redirect");
  w.optional_string(r.redirect);
  w.key("depth");
  w.integer(r.depth);
  w.key("referrer");
  w.optional_string(r.referrer);
  w.key("fetched_at");
  w.string(rfc3339_utc(r.fetched_at));
  w.key("elapsed_ms");
  w.number(r.elapsed_ms);
  w.key("attempts");
  w.integer(r.attempts);
  w.key("content_type");
  w.optional_string(r.content_type);
  w.key("charset");
  w.optional_string(r.charset);
  w.key("size");
  w.integer(r.size);
  w.key("truncated");
  w.boolean(r.truncated);
  w.key("sha256");
  w.optional_string(r.sha256);
  const bool content = !r.content_omitted;
  if (f.links && content) {
    w.key("links");
    w.string_array(r.links);
  }
  w.key("new_links");
  w.integer(r.new_links);
  w.key("noindex");
  w.boolean(r.noindex);
  w.key("nofollow");
  w.boolean(r.nofollow);
  if (r.requisite) {
    w.key("requisite");
    w.boolean(true);
  }
  if (f.title && content) {
    w.key("title");
    w.optional_string(r.title);
  }
  if (f.headers) {
    w.key("headers");
    write_headers(w, r.headers);
  }
  if (f.text && content) {
    w.key("text");
    w.string(r.text);
  }
  if (f.canonical && content) {
    w.key("canonical");
    w.optional_string(r.canonical);
  }
  if (f.meta_robots && content) {
    w.key("meta_robots");
    w.string_array(r.meta_robots);
  }
  if (r.warc) {
    w.key("warc");
    out.append("{\"file\":");
    w.string(r.warc->file);
    out.append(",\"offset\":");
    w.integer(r.warc->offset);
    out.append(",\"length\":");
    w.integer(r.warc->length);
    out += '}';
  }
  if (r.visit) {
    const visit_facts& v = *r.visit;
    w.key("change");
    w.string(v.change);
    if (!v.gone_reason.empty()) {
      w.key("gone_reason");
      w.string(v.gone_reason);
    }
    w.key("visit");
    w.integer(v.visit);
    w.key("last_changed_at");
    if (v.last_changed_at) {
      w.string(rfc3339_utc(*v.last_changed_at));
    } else {
      w.null();
    }
    w.key("next_visit_at");
    if (v.next_visit_at) {
      w.string(rfc3339_utc(*v.next_visit_at));
    } else {
      w.null();
    }
  }
  w.close();
  return out;
}

}  // namespace trawler::record
