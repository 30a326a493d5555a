#include "sink/compress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <memory>

namespace trawler::sink {

namespace {

// One deflate state per thread, reset between members: deflateInit2 allocates ~260 KiB, which
// per WARC record would cost more than the compression.
struct deflater {
  z_stream z{};
  bool ok = false;
  deflater() {
    ok =
        deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~deflater() {
    if (ok) deflateEnd(&z);
  }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;
};

struct zstd_compressor {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ~zstd_compressor() { ZSTD_freeCCtx(ctx); }
  zstd_compressor() = default;
  zstd_compressor(const zstd_compressor&) = delete;
  zstd_compressor& operator=(const zstd_compressor&) = delete;
};

bool zstd_frame(std::string_view in, std::string& out) {
  thread_local zstd_compressor c;
  if (c.ctx == nullptr) return false;
  const std::size_t start = out.size();
  const std::size_t bound = ZSTD_compressBound(in.size());
  out.resize(start + bound);
  ZSTD_CCtx_setParameter(c.ctx, ZSTD_c_checksumFlag, 1);
  const std::size_t n = ZSTD_compress2(c.ctx, out.data() + start, bound, in.data(), in.size());
  if (ZSTD_isError(n)) {
    out.resize(start);
    return false;
  }
  out.resize(start + n);
  return true;
}

std::size_t gzip_prefix(std::string_view data, std::string* plain) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return 0;
  std::size_t good = 0;
  std::array<unsigned char, 65536> window;
  std::string member;
  while (good < data.size()) {
    inflateReset(&z);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + good));
    z.avail_in = static_cast<uInt>(data.size() - good);
    member.clear();
    int rc = Z_OK;
    while (rc == Z_OK) {
      z.next_out = window.data();
      z.avail_out = window.size();
      rc = inflate(&z, Z_NO_FLUSH);
      if (plain) member.append(reinterpret_cast<char*>(window.data()), window.size() - z.avail_out);
      if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // the member ends early: torn
    }
    if (rc != Z_STREAM_END) break;
    good = static_cast<std::size_t>(reinterpret_cast<const char*>(z.next_in) - data.data());
    if (plain) plain->append(member);
  }
  inflateEnd(&z);
  return good;
}

std::size_t zstd_prefix(std::string_view data, std::string* plain) {
  std::size_t good = 0;
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return 0;
  std::array<char, 65536> window;
  std::string frame;
  while (good < data.size()) {
    const std::size_t size = ZSTD_findFrameCompressedSize(data.data() + good, data.size() - good);
    if (ZSTD_isError(size)) break;
    // The frame is all there; decompress it to check its content and checksum.
    ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_only);
    ZSTD_inBuffer in{data.data() + good, size, 0};
    frame.clear();
    std::size_t rc = 0;
    for (;;) {
      ZSTD_outBuffer out{window.data(), window.size(), 0};
      rc = ZSTD_decompressStream(ctx.get(), &out, &in);
      if (ZSTD_isError(rc)) break;
      if (plain) frame.append(window.data(), out.pos);
      if (rc == 0) break;                            // the frame ended
      if (in.pos == in.size && out.pos == 0) break;  // it wants more than it holds: torn
    }
    if (ZSTD_isError(rc) || rc != 0 || in.pos != in.size) break;
    good += size;
    if (plain) plain->append(frame);
  }
  return good;
}

}  // namespace

bool append_gzip_member(std::initializer_list<std::string_view> pieces, std::string& out) {
  thread_local deflater d;
  if (!d.ok || deflateReset(&d.z) != Z_OK) return false;
  const std::size_t start = out.size();
  std::size_t total = 0;
  for (const auto p : pieces) total += p.size();
  out.resize(start + deflateBound(&d.z, static_cast<uLong>(total)) + 64);
  std::size_t produced = 0;
  constexpr std::size_t max_step = std::size_t{1} << 30;  // z_stream counts in 32-bit uInt

  // Runs deflate until the input is taken (Z_NO_FLUSH) or the member is complete (Z_FINISH),
  // growing `out` when it is full.
  const auto pump = [&](int flush) {
    for (;;) {
      if (start + produced == out.size())
        out.resize(out.size() + std::max<std::size_t>(4096, (out.size() - start) / 2));
      const std::size_t room = std::min(out.size() - start - produced, max_step);
      d.z.next_out = reinterpret_cast<Bytef*>(out.data() + start + produced);
      d.z.avail_out = static_cast<uInt>(room);
      const int rc = deflate(&d.z, flush);
      produced += room - d.z.avail_out;
      if (rc == Z_STREAM_END) return true;
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (flush == Z_NO_FLUSH && d.z.avail_in == 0) return true;
      if (rc == Z_BUF_ERROR && d.z.avail_out != 0) return false;  // no progress possible
    }
  };

  bool ok = true;
  for (const auto piece : pieces) {
    std::string_view rest = piece;
    while (ok && !rest.empty()) {
      const std::size_t step = std::min(rest.size(), max_step);
      d.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(rest.data()));
      d.z.avail_in = static_cast<uInt>(step);
      ok = pump(Z_NO_FLUSH);
      rest.remove_prefix(step);
    }
  }
  d.z.next_in = nullptr;
  d.z.avail_in = 0;
  if (ok) ok = pump(Z_FINISH);
  out.resize(ok ? start + produced : start);
  return ok;
}

std::optional<compression> compression_named(std::string_view name) {
  if (name == "none") return compression::none;
  if (name == "gzip") return compression::gzip;
  if (name == "zstd") return compression::zstd;
  return std::nullopt;
}

std::string_view extension(compression c) {
  switch (c) {
    case compression::gzip:
      return ".gz";
    case compression::zstd:
      return ".zst";
    case compression::none:
      break;
  }
  return "";
}

bool append_compressed(compression c, std::string_view in, std::string& out) {
  switch (c) {
    case compression::gzip:
      return append_gzip_member({in}, out);
    case compression::zstd:
      return zstd_frame(in, out);
    case compression::none:
      break;
  }
  out.append(in);
  return true;
}

std::size_t whole_prefix(compression c, std::string_view data, std::string* plain) {
  switch (c) {
    case compression::gzip:
      return gzip_prefix(data, plain);
    case compression::zstd:
      return zstd_prefix(data, plain);
    case compression::none:
      break;
  }
  const auto last = data.rfind('\n');
  const std::size_t n = last == std::string_view::npos ? 0 : last + 1;
  if (plain) plain->append(data.substr(0, n));
  return n;
}

}  // namespace trawler::sink
