#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "fetch/decoder.hpp"
#include "fuzz_checks.hpp"
#include "record/record.hpp"

namespace trawler::fuzz {

namespace {

namespace http = boost::beast::http;
using boost::beast::error_code;
using fetch::body_decoder;

// Smaller than the fetcher's 64 KiB so that inputs of fuzzing size reach the limit.
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::size_t decoded_cap = 1024 * 1024;

struct response {
  error_code ec;  // what ended reading early; none when the message was read whole
  bool header_done = false;
  bool done = false;
  unsigned status = 0;
  std::optional<std::string> content_encoding;  // the first Content-Encoding field
  std::optional<std::string> content_type;
  std::string body;                 // the body bytes as the parser delivered them
  std::vector<std::size_t> pieces;  // sizes of the deliveries, as the fetcher feeds them
};

// Reads `data` as a server's byte stream arriving `read_step` bytes at a time, into a body
// buffer of `body_buffer` bytes, as Beast's read_some / the fetcher's loop do.
response read_response(std::string_view data, std::size_t read_step, std::size_t body_buffer) {
  response out;
  http::response_parser<http::buffer_body> p;
  p.header_limit(header_limit);
  p.body_limit(boost::none);
  std::string pending;  // received, not yet consumed by the parser
  std::size_t received = 0;
  auto receive = [&] {
    if (received == data.size()) return false;
    const std::size_t n = std::min(read_step, data.size() - received);
    pending.append(data.substr(received, n));
    received += n;
    return true;
  };
  std::vector<char> chunk(body_buffer);
  error_code ec;
  while (!p.is_done()) {
    const bool in_body = p.is_header_done();
    if (in_body) {
      p.eager(true);
      p.get().body().data = chunk.data();
      p.get().body().size = chunk.size();
      p.get().body().more = true;
    }
    if (pending.empty() && !receive()) {
      if (p.got_some()) {
        p.put_eof(ec);
      } else {
        ec = http::error::end_of_stream;
      }
      break;
    }
    const std::size_t used = p.put(boost::asio::buffer(pending.data(), pending.size()), ec);
    pending.erase(0, used);
    if (in_body) {
      const std::size_t got = chunk.size() - p.get().body().size;
      if (got > 0) {
        out.body.append(chunk.data(), got);
        out.pieces.push_back(got);
      }
    }
    if (ec == http::error::need_buffer) {
      ec = {};
      continue;
    }
    if (ec == http::error::need_more) {
      ec = {};
      if (!receive()) {
        p.put_eof(ec);
        break;
      }
      continue;
    }
    if (ec) break;
  }
  out.ec = ec;
  out.done = p.is_done();
  out.header_done = p.is_header_done();
  if (out.header_done) {
    const auto& res = p.get();
    out.status = res.result_int();
    if (const auto it = res.find(http::field::content_encoding); it != res.end())
      out.content_encoding = std::string(it->value());
    if (const auto it = res.find(http::field::content_type); it != res.end())
      out.content_type = std::string(it->value());
  }
  return out;
}

struct decoded {
  body_decoder::status status = body_decoder::status::ok;
  std::string out;
  bool complete = false;
};

const char* name(body_decoder::status s) {
  switch (s) {
    case body_decoder::status::ok:
      return "ok";
    case body_decoder::status::limit_reached:
      return "limit_reached";
    case body_decoder::status::error:
      return "error";
  }
  return "?";
}

// Feeds body in the given piece sizes (cycling) until the decoder stops, then finishes, and
// checks the promises every run keeps.
finding decode(const std::vector<fetch::content_coding>& codings, std::string_view body,
               const std::vector<std::size_t>& pieces, std::size_t cap, decoded& d) {
  body_decoder decoder(codings, cap);
  std::size_t at = 0;
  for (std::size_t i = 0; at < body.size() && d.status == body_decoder::status::ok; ++i) {
    const std::size_t n = std::min(pieces[i % pieces.size()], body.size() - at);
    const std::size_t before = d.out.size();
    d.status = decoder.feed(body.substr(at, n), d.out);
    at += n;
    if (d.status != body_decoder::status::ok && d.out.size() < before)
      return std::string("feed() shrank its output");
  }
  if (d.status != body_decoder::status::ok) {
    // Sticky: later calls repeat the status and add nothing.
    const std::size_t size = d.out.size();
    if (decoder.feed("x", d.out) != d.status || d.out.size() != size)
      return std::string("feed() after ") + name(d.status) + " is not sticky";
  }
  const auto finished = decoder.finish(d.out);
  if (d.status != body_decoder::status::ok && finished != d.status)
    return std::string("finish() after ") + name(d.status) + " returned " + name(finished);
  d.status = finished;
  d.complete = decoder.stream_complete();
  if (d.out.size() > cap)
    return "decoded " + std::to_string(d.out.size()) + " bytes over a cap of " +
           std::to_string(cap);
  if (decoder.decoded_bytes() != d.out.size())
    return "decoded_bytes() " + std::to_string(decoder.decoded_bytes()) + " but " +
           std::to_string(d.out.size()) + " bytes appended";
  if (d.status == body_decoder::status::limit_reached && d.out.size() != cap)
    return "limit_reached with " + std::to_string(d.out.size()) + " bytes for a cap of " +
           std::to_string(cap);
  if (d.status == body_decoder::status::error && decoder.error_message().empty())
    return std::string("error without a message");
  return std::nullopt;
}

bool prefix_consistent(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  return a.substr(0, n) == b.substr(0, n);
}

finding check_media_type(const std::string& header) {
  if (const auto m = record::media_type(header)) {
    if (m->empty()) return "media_type() gave an empty type for " + printable(header);
    for (const char c : *m)
      if ((c >= 'A' && c <= 'Z') || c == ';')
        return "media_type() " + printable(*m) + " for " + printable(header);
    if (m->front() == ' ' || m->front() == '\t' || m->back() == ' ' || m->back() == '\t')
      return "media_type() kept whitespace: " + printable(*m);
  }
  if (const auto c = record::charset_param(header); c && c->empty())
    return "charset_param() gave an empty charset for " + printable(header);
  return std::nullopt;
}

finding check_http_impl(std::string_view data) {
  const response a = read_response(data, 4096, 16 * 1024);
  // The same bytes trickling in: the parser's outcome may not depend on how they arrive. The
  // error code may: with the whole start line at hand Beast says "bad version" where, fed
  // piecemeal, it waits for the line's end and then says "partial message". And Beast's header
  // limit is approximate: fields complete in the first put() are consumed and no longer count,
  // so a header somewhat over the limit passes when it arrives in large reads and fails in
  // small ones. Either way the fetcher's record is an error or the header is bounded.
  const response b = read_response(data, 7, 5);
  const bool limit_hit = a.ec == http::error::header_limit || b.ec == http::error::header_limit;
  if (!limit_hit && (!a.ec != !b.ec || a.header_done != b.header_done || a.done != b.done ||
                     a.status != b.status || a.body != b.body))
    return "the parse depends on the read sizes: " + a.ec.message() + " vs " + b.ec.message() +
           ", body " + std::to_string(a.body.size()) + " vs " + std::to_string(b.body.size()) +
           " bytes";
  if (!a.header_done) return std::nullopt;
  if (a.content_type) {
    if (auto f = check_media_type(*a.content_type)) return f;
  }

  std::vector<fetch::content_coding> codings;
  if (a.content_encoding) {
    if (auto parsed = fetch::parse_content_encoding(*a.content_encoding)) {
      const auto real = std::count_if(parsed->begin(), parsed->end(),
                                      [](auto c) { return c != fetch::content_coding::identity; });
      if (static_cast<std::size_t>(real) > fetch::max_content_codings)
        return "parse_content_encoding accepted " + std::to_string(real) + " codings";
      codings = std::move(*parsed);
    }
  }
  if (a.body.empty()) return std::nullopt;

  decoded as_read;
  if (auto f = decode(codings, a.body, a.pieces, decoded_cap, as_read)) return "as read: " + *f;
  decoded trickled;
  static const std::vector<std::size_t> small_pieces = {1, 2, 3, 5, 8, 13, 1, 1, 4096};
  if (auto f = decode(codings, a.body, small_pieces, decoded_cap, trickled))
    return "trickled: " + *f;
  const std::size_t small_cap = 1 + data.size() % 512;
  decoded capped;
  if (auto f = decode(codings, a.body, {a.body.size()}, small_cap, capped)) return "capped: " + *f;

  const std::string about = " (Content-Encoding " +
                            (a.content_encoding ? printable(*a.content_encoding) : "none") +
                            ", body " + std::to_string(a.body.size()) + " bytes)";
  using st = body_decoder::status;
  if ((as_read.status == st::error) != (trickled.status == st::error))
    return std::string("whether the body is corrupt depends on the piece sizes: ") +
           name(as_read.status) + " vs " + name(trickled.status) + about;
  if (as_read.status != st::error) {
    if (as_read.status != trickled.status || as_read.out != trickled.out ||
        as_read.complete != trickled.complete)
      return std::string("decoding depends on the piece sizes: ") + name(as_read.status) + " " +
             std::to_string(as_read.out.size()) + " bytes vs " + name(trickled.status) + " " +
             std::to_string(trickled.out.size()) + " bytes" + about;
  } else if (!prefix_consistent(as_read.out, trickled.out)) {
    return "decoding in other pieces gave other bytes before an error" + about;
  }
  if (as_read.status != st::error && capped.status != st::error) {
    const bool over = as_read.status == st::limit_reached || as_read.out.size() > small_cap;
    if ((capped.status == st::limit_reached) != over ||
        capped.out != std::string_view(as_read.out).substr(0, small_cap))
      return std::string("a cap of ") + std::to_string(small_cap) + " gave " + name(capped.status) +
             " with " + std::to_string(capped.out.size()) + " bytes, the 1 MiB cap " +
             name(as_read.status) + " with " + std::to_string(as_read.out.size()) + about;
  } else if (as_read.status != st::error && capped.status == st::error) {
    return "a smaller cap turned a good body into an error" + about;
  } else if (!prefix_consistent(as_read.out, capped.out)) {
    return "a smaller cap gave other bytes before an error" + about;
  }
  const bool identity = std::all_of(codings.begin(), codings.end(),
                                    [](auto c) { return c == fetch::content_coding::identity; });
  if (identity && as_read.out != std::string_view(a.body).substr(0, decoded_cap))
    return "identity decoding changed the body" + about;
  return std::nullopt;
}

}  // namespace

finding check_http(std::string_view data) {
  try {
    return check_http_impl(data);
  } catch (const std::exception& e) {
    return std::string("http: exception ") + e.what() + " for " + printable(data);
  }
}

}  // namespace trawler::fuzz
