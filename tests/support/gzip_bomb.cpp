#include "support/gzip_bomb.hpp"

#include <zlib.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace trawler::testing {
namespace {

struct deflate_stream {
  z_stream z{};
  deflate_stream() {
    // Raw deflate (negative window bits): the gzip framing is written by hand below.
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_RLE) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
  }
  ~deflate_stream() { deflateEnd(&z); }
  deflate_stream(const deflate_stream&) = delete;
  deflate_stream& operator=(const deflate_stream&) = delete;
};

// Compresses `count` zeros in a fresh stream, ending with `flush` (Z_FULL_FLUSH leaves the
// output byte-aligned and independent of what precedes it, so it can be repeated).
std::string deflate_zeros(std::size_t count, int flush) {
  deflate_stream d;
  std::vector<unsigned char> in(count, 0);
  std::string out;
  std::vector<unsigned char> chunk(64 * 1024);
  d.z.next_in = in.data();
  d.z.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    d.z.next_out = chunk.data();
    d.z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = deflate(&d.z, flush);
    if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size() - d.z.avail_out);
    if (flush == Z_FINISH ? rc == Z_STREAM_END : (d.z.avail_in == 0 && d.z.avail_out != 0)) break;
  }
  return out;
}

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string make_gzip_zeros(std::uint64_t size) {
  constexpr std::size_t block = 1 << 20;
  const std::uint64_t blocks = size / block;
  const std::size_t tail = static_cast<std::size_t>(size % block);

  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", 10);
  if (blocks > 0) {
    const std::string piece = deflate_zeros(block, Z_FULL_FLUSH);
    out.reserve(out.size() + piece.size() * blocks + 64);
    for (std::uint64_t i = 0; i < blocks; ++i) out += piece;
  }
  out += deflate_zeros(tail, Z_FINISH);

  const std::vector<unsigned char> zeros(block, 0);
  const uLong block_crc = crc32(0L, zeros.data(), static_cast<uInt>(block));
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::uint64_t i = 0; i < blocks; ++i) crc = crc32_combine(crc, block_crc, block);
  crc = crc32(crc, zeros.data(), static_cast<uInt>(tail));
  put_le32(out, static_cast<std::uint32_t>(crc));
  put_le32(out, static_cast<std::uint32_t>(size & 0xffffffffu));
  return out;
}

}  // namespace trawler::testing
