// libFuzzer entry point: the work is check_url() in url_check.cpp, shared with the
// regression test.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  trawler::fuzz::abort_on(trawler::fuzz::check_url(input), "url");
  return 0;
}
