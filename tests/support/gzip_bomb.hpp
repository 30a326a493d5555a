#pragma once

#include <cstdint>
#include <string>

namespace trawler::testing {

// A gzip member (RFC 1952) that inflates to `size` zero bytes, about size / 1000 bytes
// long. Built from one compressed block repeated, so a 1 GiB bomb takes milliseconds
// rather than the seconds zlib needs to deflate 1 GiB.
std::string make_gzip_zeros(std::uint64_t size);

}  // namespace trawler::testing
