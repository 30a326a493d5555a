#include "state/output_scan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trawler::state {

namespace {

enum class line_kind { recorded, cancelled, blank, invalid };

class fd_closer {
 public:
  explicit fd_closer(int fd) : fd_(fd) {}
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  ~fd_closer() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_;
};

bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// The layout record::to_json_line writes. nullopt: not that layout, parse the line instead.
std::optional<line_kind> fast_line(std::string_view line, std::string_view& url, bool& has_status) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::string_view s = line;
  if (!consume(s, R"({"url":")")) return std::nullopt;
  const auto end = s.find_first_of("\"\\");
  if (end == std::string_view::npos || s[end] != '"') return std::nullopt;  // escapes: parse
  url = s.substr(0, end);
  s.remove_prefix(end + 1);
  if (!consume(s, R"(,"status":)")) return std::nullopt;
  has_status = !consume(s, "null");
  if (has_status) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    s.remove_prefix(digits);
  }
  if (!consume(s, R"(,"error":)")) return std::nullopt;
  if (consume(s, "null")) return url.empty() ? line_kind::invalid : line_kind::recorded;
  if (!consume(s, R"({"kind":")")) return std::nullopt;
  if (url.empty()) return line_kind::invalid;
  return consume(s, R"(cancelled")") ? line_kind::cancelled : line_kind::recorded;
}

line_kind parsed_line(std::string_view line, std::string& url, bool& has_status) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return line_kind::invalid;
  const auto u = j.find("url");
  if (u == j.end() || !u->is_string() || u->get_ref<const std::string&>().empty()) {
    return line_kind::invalid;
  }
  url = u->get<std::string>();
  const auto status = j.find("status");
  has_status = status != j.end() && status->is_number();
  const auto e = j.find("error");
  if (e == j.end() || e->is_null()) return line_kind::recorded;
  if (!e->is_object()) return line_kind::invalid;
  const auto k = e->find("kind");
  if (k != e->end() && k->is_string() && k->get_ref<const std::string&>() == "cancelled") {
    return line_kind::cancelled;
  }
  return line_kind::recorded;
}

void scan_line(std::string_view line, output_scan& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  std::string_view url;
  bool has_status = false;
  if (const auto kind = fast_line(line, url, has_status)) {
    if (*kind == line_kind::recorded) {
      out.recorded.emplace_back(url);
      if (has_status) ++out.responses;
    } else if (*kind == line_kind::invalid)
      ++out.invalid_lines;
    return;
  }
  std::string parsed_url;
  switch (parsed_line(line, parsed_url, has_status)) {
    case line_kind::recorded:
      out.recorded.push_back(std::move(parsed_url));
      if (has_status) ++out.responses;
      break;
    case line_kind::invalid:
      ++out.invalid_lines;
      break;
    case line_kind::cancelled:
    case line_kind::blank:
      break;
  }
}

std::string os_error(std::string_view what, const std::string& path, int err) {
  std::string msg(what);
  msg += " '" + path + "': ";
  msg += std::strerror(err);
  return msg;
}

}  // namespace

output_scan scan_output(const std::string& path, std::string& error, bool cut_torn_line) {
  output_scan out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return out;
    error = os_error("cannot read output", path, errno);
    return out;
  }
  fd_closer closer(fd);

  // Lines are scanned in place; only a line crossing the end of the buffer moves to its front,
  // and the buffer grows only for a line longer than itself.
  std::vector<char> buf(std::size_t{1} << 20);
  std::size_t have = 0;
  std::uint64_t line_boundary = 0;  // file offset just after the last '\n' seen
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = os_error("cannot read output", path, errno);
      return output_scan{};
    }
    if (n == 0) break;
    const std::size_t scanned_from = have;
    have += static_cast<std::size_t>(n);
    std::size_t start = 0;
    const char* p = buf.data() + scanned_from;
    const char* const end = buf.data() + have;
    while (const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
      const auto* line_end = static_cast<const char*>(nl);
      scan_line(std::string_view(buf.data() + start,
                                 static_cast<std::size_t>(line_end - (buf.data() + start))),
                out);
      p = line_end + 1;
      start = static_cast<std::size_t>(p - buf.data());
    }
    line_boundary += start;
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, have - start);
      have -= start;
    }
  }

  if (have > 0 && cut_torn_line) {
    if (::truncate(path.c_str(), static_cast<off_t>(line_boundary)) != 0) {
      error = os_error("cannot cut the torn last line of output", path, errno);
      return output_scan{};
    }
    out.truncated_bytes = have;
  }
  return out;
}

void scan_lines(std::string_view content, output_scan& out) {
  while (!content.empty()) {
    const auto nl = content.find('\n');
    if (nl == std::string_view::npos) break;
    scan_line(content.substr(0, nl), out);
    content.remove_prefix(nl + 1);
  }
}

}  // namespace trawler::state
