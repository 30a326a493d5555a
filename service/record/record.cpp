#include "record/record.hpp"

#include <stdexcept>

namespace trawler::record {

output_fields output_fields::from_names(const std::vector<std::string>& names) {
  output_fields f;
  f.links = f.title = false;
  for (const auto& name : names) {
    if (name == "links")
      f.links = true;
    else if (name == "title")
      f.title = true;
    else if (name == "headers")
      f.headers = true;
    else if (name == "text")
      f.text = true;
    else if (name == "canonical")
      f.canonical = true;
    else if (name == "meta_robots")
      f.meta_robots = true;
    else
      throw std::invalid_argument("unknown output field \"" + name + "\"");
  }
  return f;
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const auto ms_of_day = (ms - day).count();  // 0 .. 86'399'999 thanks to floor
  const int year = static_cast<int>(ymd.year());
  const unsigned values[] = {
      static_cast<unsigned>(year < 0 ? 0 : year),
      static_cast<unsigned>(ymd.month()),
      static_cast<unsigned>(ymd.day()),
      static_cast<unsigned>(ms_of_day / 3'600'000),
      static_cast<unsigned>(ms_of_day / 60'000 % 60),
      static_cast<unsigned>(ms_of_day / 1000 % 60),
      static_cast<unsigned>(ms_of_day % 1000),
  };
  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](std::size_t pos, std::size_t width, unsigned v) {
    for (std::size_t i = 0; i < width; ++i) {
      out[pos + width - 1 - i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, 4, values[0]);
  put(5, 2, values[1]);
  put(8, 2, values[2]);
  put(11, 2, values[3]);
  put(14, 2, values[4]);
  put(17, 2, values[5]);
  put(20, 3, values[6]);
  return out;
}

}  // namespace trawler::record
