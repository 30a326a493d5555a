#include "fetch/decoder.hpp"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

namespace trawler::fetch {

namespace {

// Output step of every stage. Small enough that a bomb overshoots the cap by at most this much
// work per stage, large enough that the per-call overhead of inflate/brotli is negligible.
constexpr std::size_t step_size = 32 * 1024;

// zlib counts in uInt; larger inputs are fed in slices.
constexpr std::size_t max_zlib_input = std::size_t{1} << 30;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct inflate_end {
  void operator()(z_stream* z) const {
    inflateEnd(z);
    std::default_delete<z_stream>{}(z);
  }
};
using z_stream_ptr = std::unique_ptr<z_stream, inflate_end>;

struct brotli_destroy {
  void operator()(BrotliDecoderState* s) const { BrotliDecoderDestroyInstance(s); }
};
using brotli_ptr = std::unique_ptr<BrotliDecoderState, brotli_destroy>;

// The z_stream lives on the heap because zlib's state points back at it: it must not move.
z_stream_ptr make_inflater(int window_bits) {
  auto z = std::make_unique<z_stream>();  // value-initialized: default allocators
  if (inflateInit2(z.get(), window_bits) != Z_OK) return nullptr;
  return z_stream_ptr(z.release());
}

std::string_view coding_name(content_coding c) {
  switch (c) {
    case content_coding::gzip:
      return "gzip";
    case content_coding::deflate:
      return "deflate";
    case content_coding::br:
      return "br";
    case content_coding::identity:
      break;
  }
  return "identity";
}

// RFC 1950 2.2: CM = 8 (deflate), CINFO <= 7 (window up to 32K), FCHECK makes the 16-bit
// header a multiple of 31. A raw deflate stream rarely passes all three.
bool looks_like_zlib_header(unsigned char b0, unsigned char b1) {
  return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0;
}

}  // namespace

struct body_decoder::stage {
  explicit stage(content_coding c) : coding(c) {}

  content_coding coding;
  z_stream_ptr zlib;                        // gzip from the start; deflate once sniffed
  brotli_ptr brotli;                        // br
  std::unique_ptr<unsigned char[]> buffer;  // one output step, allocated on first use
  unsigned char sniff[2] = {0, 0};          // deflate: first bytes, to pick zlib or raw
  std::size_t sniffed = 0;
  bool ended = false;          // the current stream (gzip: member) saw its end marker
  bool magic_pending = false;  // gzip: after a member, a 0x1f that may start the next one
  bool trailing = false;       // everything after the end is ignored (lenient, as browsers are)

  bool complete() const { return (ended && !magic_pending) || trailing; }

  // RFC 1952 2.2: a gzip body may be a series of members. After one ends, another starts only
  // if the gzip magic 1f 8b follows; anything else is trailing garbage (often zero padding),
  // which gzip(1) and browsers ignore. Called with input pending in zlib->next_in. Returns
  // true once a new member is under way;
  // false to stop for now (trailing, or the input ended between the two magic bytes).
  bool start_next_gzip_member() {
    z_stream& z = *zlib;
    if (!magic_pending) {
      if (*z.next_in != 0x1f) {
        trailing = true;
        return false;
      }
      magic_pending = true;
      ++z.next_in;
      if (--z.avail_in == 0) return false;
    }
    if (*z.next_in != 0x8b) {
      trailing = true;
      return false;
    }
    // The 0x1f was consumed already, maybe in an earlier feed(): prime the fresh inflater's
    // bit buffer with it instead of keeping the input around.
    inflateReset(&z);
    inflatePrime(&z, 8, 0x1f);
    magic_pending = false;
    ended = false;
    return true;
  }
};

std::optional<std::vector<content_coding>> parse_content_encoding(std::string_view value) {
  std::vector<content_coding> codings;
  std::size_t non_identity = 0;
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view token = trim_ows(value.substr(0, comma));
    if (!token.empty()) {
      content_coding c;
      if (iequals(token, "gzip") || iequals(token, "x-gzip")) {
        c = content_coding::gzip;
      } else if (iequals(token, "deflate")) {
        c = content_coding::deflate;
      } else if (iequals(token, "br")) {
        c = content_coding::br;
      } else if (iequals(token, "identity")) {
        c = content_coding::identity;
      } else {
        return std::nullopt;
      }
      if (c != content_coding::identity && ++non_identity > max_content_codings) {
        return std::nullopt;
      }
      codings.push_back(c);
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return codings;
}

body_decoder::body_decoder(std::vector<content_coding> codings, std::size_t max_decoded_bytes)
    : max_decoded_(max_decoded_bytes) {
  std::size_t count = 0;
  for (content_coding c : codings) count += c != content_coding::identity;
  if (count > max_content_codings) {
    fail("content decoding: too many codings");
    return;
  }
  stages_.reserve(count);
  // Header order is the order of application: undo the last one first.
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    if (*it == content_coding::identity) continue;
    stage& s = stages_.emplace_back(*it);
    if (*it == content_coding::gzip) {
      s.zlib = make_inflater(15 + 16);
      if (!s.zlib) {
        fail("gzip: cannot initialize zlib");
        return;
      }
    } else if (*it == content_coding::br) {
      s.brotli.reset(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr));
      if (!s.brotli) {
        fail("br: cannot initialize brotli");
        return;
      }
    }
  }
}

body_decoder::~body_decoder() = default;
body_decoder::body_decoder(body_decoder&&) noexcept = default;
body_decoder& body_decoder::operator=(body_decoder&&) noexcept = default;

body_decoder::status body_decoder::fail(std::string message) {
  status_ = status::error;
  error_message_ = std::move(message);
  return status_;
}

std::size_t body_decoder::step_for(std::size_t index) const {
  if (index + 1 < stages_.size()) return step_size;
  // The last stage asks for one byte past the cap, no more: that byte tells a body of exactly
  // the cap (ok) from a longer one (limit_reached) without decoding further.
  const std::size_t room = max_decoded_ - decoded_;
  return room >= step_size ? step_size : room + 1;
}

body_decoder::status body_decoder::feed(std::string_view encoded, std::string& out) {
  if (status_ != status::ok) return status_;
  if (finished_) return fail("content decoding: input after the end of the body");
  if (encoded.empty()) return status_;
  encoded_seen_ += encoded.size();
  const auto* data = reinterpret_cast<const unsigned char*>(encoded.data());
  const status st = deliver(0, data, encoded.size(), out);
  if (st != status::ok) status_ = st;
  return status_;
}

body_decoder::status body_decoder::finish(std::string& /*out*/) {
  // Every stage hands on all it can decode as soon as it gets input, so nothing is buffered
  // here but a deflate header shorter than two bytes, which decodes to nothing anyway.
  finished_ = true;
  return status_;
}

bool body_decoder::stream_complete() const {
  if (encoded_seen_ == 0) return true;
  return std::all_of(stages_.begin(), stages_.end(), [](const stage& s) { return s.complete(); });
}

body_decoder::status body_decoder::deliver(std::size_t index, const unsigned char* data,
                                           std::size_t size, std::string& out) {
  if (index < stages_.size()) return run(index, data, size, out);
  const std::size_t room = max_decoded_ - decoded_;
  const bool over = size > room;
  if (over) size = room;
  out.append(reinterpret_cast<const char*>(data), size);
  decoded_ += size;
  return over ? status::limit_reached : status::ok;
}

body_decoder::status body_decoder::run(std::size_t index, const unsigned char* data,
                                       std::size_t size, std::string& out) {
  stage& s = stages_[index];
  if (s.trailing || size == 0) return status::ok;
  if (!s.buffer) s.buffer = std::make_unique_for_overwrite<unsigned char[]>(step_size);

  if (s.coding == content_coding::br) return run_brotli(index, data, size, out);

  if (!s.zlib) {
    // deflate: "accepted zlib-wrapped or raw" (SPEC); servers send both, so look at the header.
    while (s.sniffed < 2 && size > 0) {
      s.sniff[s.sniffed++] = *data++;
      --size;
    }
    if (s.sniffed < 2) return status::ok;
    s.zlib = make_inflater(looks_like_zlib_header(s.sniff[0], s.sniff[1]) ? 15 : -15);
    if (!s.zlib) return fail("deflate: cannot initialize zlib");
    const status st = run_zlib(index, s.sniff, 2, out);
    if (st != status::ok) return st;
  }
  while (size > 0) {
    const std::size_t slice = std::min(size, max_zlib_input);
    const status st = run_zlib(index, data, slice, out);
    if (st != status::ok) return st;
    data += slice;
    size -= slice;
  }
  return status::ok;
}

body_decoder::status body_decoder::run_zlib(std::size_t index, const unsigned char* data,
                                            std::size_t size, std::string& out) {
  stage& s = stages_[index];
  z_stream& z = *s.zlib;
  // zlib never writes through next_in; the cast is its API's.
  z.next_in = const_cast<unsigned char*>(data);
  z.avail_in = static_cast<uInt>(size);
  while (true) {
    if (s.trailing) return status::ok;
    if (s.ended) {
      if (z.avail_in == 0) return status::ok;
      if (s.coding != content_coding::gzip) {
        s.trailing = true;
        return status::ok;
      }
      if (!s.start_next_gzip_member()) return status::ok;
    }
    const std::size_t step = step_for(index);
    z.next_out = s.buffer.get();
    z.avail_out = static_cast<uInt>(step);
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = step - z.avail_out;
    if (produced > 0) {
      const status st = deliver(index + 1, s.buffer.get(), produced, out);
      if (st != status::ok) return st;
    }
    if (rc == Z_STREAM_END) {
      s.ended = true;
      continue;
    }
    // Z_BUF_ERROR only means no progress was possible: all input is used up.
    if (rc == Z_BUF_ERROR) return status::ok;
    if (rc != Z_OK) {
      std::string message(coding_name(s.coding));
      message += ": ";
      message += z.msg != nullptr ? z.msg : zError(rc);
      return fail(std::move(message));
    }
    if (z.avail_out != 0 && z.avail_in == 0) return status::ok;
  }
}

body_decoder::status body_decoder::run_brotli(std::size_t index, const unsigned char* data,
                                              std::size_t size, std::string& out) {
  stage& s = stages_[index];
  std::size_t avail_in = size;
  const std::uint8_t* next_in = data;
  while (true) {
    if (s.ended) {
      // Bytes after the end of the brotli stream are ignored, as after a deflate stream.
      if (avail_in > 0) s.trailing = true;
      return status::ok;
    }
    const std::size_t step = step_for(index);
    std::size_t avail_out = step;
    std::uint8_t* next_out = s.buffer.get();
    const BrotliDecoderResult r = BrotliDecoderDecompressStream(s.brotli.get(), &avail_in, &next_in,
                                                                &avail_out, &next_out, nullptr);
    const std::size_t produced = step - avail_out;
    if (produced > 0) {
      const status st = deliver(index + 1, s.buffer.get(), produced, out);
      if (st != status::ok) return st;
    }
    switch (r) {
      case BROTLI_DECODER_RESULT_SUCCESS:
        s.ended = true;
        continue;
      case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
        return status::ok;
      case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        continue;
      case BROTLI_DECODER_RESULT_ERROR:
        break;
    }
    return fail(std::string("br: ") +
                BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s.brotli.get())));
  }
}

}  // namespace trawler::fetch
