#include "sink/segment_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/log.hpp"

namespace trawler::sink {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view part_suffix = ".part";

std::string errno_text(int err) {
  return std::strerror(err);
}

bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<segment_file> parse_name(std::string_view name, const std::string& prefix) {
  if (!consume(name, prefix) || !consume(name, "-")) return std::nullopt;
  std::size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
  if (digits < 6 || digits > 18) return std::nullopt;
  segment_file f;
  for (std::size_t i = 0; i < digits; ++i) f.serial = f.serial * 10 + (name[i] - '0');
  name.remove_prefix(digits);
  if (!consume(name, ".jsonl")) return std::nullopt;
  if (consume(name, ".gz")) {
    f.compress = compression::gzip;
  } else if (consume(name, ".zst")) {
    f.compress = compression::zstd;
  }
  f.open = consume(name, part_suffix);
  if (!name.empty()) return std::nullopt;
  return f;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read segment '" + path + "': " + errno_text(errno);
    return false;
  }
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      out.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = "cannot read segment '" + path + "': " + errno_text(errno);
    break;
  }
  ::close(fd);
  return error.empty();
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    return false;
  }
  return true;
}

// The rename of a closed file is durable only once its folder is synced.
bool sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::vector<segment_file> list_segments(const std::string& dir, const std::string& prefix) {
  std::vector<segment_file> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto f = parse_name(it->path().filename().string(), prefix);
    if (!f) continue;
    f->path = it->path().string();
    out.push_back(std::move(*f));
  }
  std::sort(out.begin(), out.end(), [](const segment_file& a, const segment_file& b) {
    return a.serial != b.serial ? a.serial < b.serial : a.open < b.open;
  });
  return out;
}

bool read_segment(const segment_file& f, std::string& content, std::string& error) {
  std::string raw;
  if (!read_file(f.path, raw, error)) return false;
  if (f.compress == compression::none) {
    content.append(raw, 0, whole_prefix(compression::none, raw));
  } else {
    whole_prefix(f.compress, raw, &content);
  }
  return true;
}

std::optional<segment_sink> segment_sink::open(segment_settings s, std::string& error) {
  std::error_code ec;
  fs::create_directories(s.dir, ec);
  if (ec || !fs::is_directory(s.dir, ec)) {
    error = "cannot create output folder '" + s.dir +
            "': " + (ec ? ec.message() : std::string("not a folder"));
    return std::nullopt;
  }
  if (::access(s.dir.c_str(), W_OK) != 0) {
    error = "cannot write to output folder '" + s.dir + "': " + errno_text(errno);
    return std::nullopt;
  }
  segment_sink sink(std::move(s));
  for (const auto& f : list_segments(sink.settings_.dir, sink.settings_.prefix)) {
    sink.serial_ = std::max(sink.serial_, f.serial + 1);
    if (!f.open) continue;
    // A crash's leftover: keep its whole lines (members) and publish it.
    std::string raw;
    if (!read_file(f.path, raw, error)) return std::nullopt;
    const std::size_t keep = whole_prefix(f.compress, raw);
    const std::string final_name = f.path.substr(0, f.path.size() - part_suffix.size());
    if (keep == 0) {
      ::unlink(f.path.c_str());
      continue;
    }
    if (keep < raw.size()) {
      log::warn("segment '" + f.path + "': cut " + std::to_string(raw.size() - keep) +
                " bytes of a torn last write");
    }
    const int fd = ::open(f.path.c_str(), O_WRONLY | O_CLOEXEC);
    const bool ok = fd >= 0 && ::ftruncate(fd, static_cast<off_t>(keep)) == 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok || fs::exists(final_name, ec) || ::rename(f.path.c_str(), final_name.c_str()) != 0) {
      error = "cannot complete the segment '" + f.path + "' left by an interrupted run: " +
              (ok && fs::exists(final_name, ec) ? std::string("its final name exists")
                                                : errno_text(errno));
      return std::nullopt;
    }
    sink.recovered_.push_back(final_name);
  }
  if (!sink.recovered_.empty()) sync_dir(sink.settings_.dir);
  return sink;
}

segment_sink::segment_sink(segment_settings s) : settings_(std::move(s)) {
  buffer_.reserve(buffer_capacity);
}

segment_sink::segment_sink(segment_sink&& other) noexcept
    : settings_(std::move(other.settings_)),
      fd_(std::exchange(other.fd_, -1)),
      serial_(other.serial_),
      segment_bytes_(other.segment_bytes_),
      opened_at_(other.opened_at_),
      buffer_(std::move(other.buffer_)),
      packed_(std::move(other.packed_)),
      recovered_(std::move(other.recovered_)),
      closed_(other.closed_),
      lines_(other.lines_),
      error_(std::move(other.error_)) {
  other.buffer_.clear();
}

segment_sink& segment_sink::operator=(segment_sink&& other) noexcept {
  if (this != &other) {
    close();
    settings_ = std::move(other.settings_);
    fd_ = std::exchange(other.fd_, -1);
    serial_ = other.serial_;
    segment_bytes_ = other.segment_bytes_;
    opened_at_ = other.opened_at_;
    buffer_ = std::move(other.buffer_);
    other.buffer_.clear();
    packed_ = std::move(other.packed_);
    recovered_ = std::move(other.recovered_);
    closed_ = other.closed_;
    lines_ = other.lines_;
    error_ = std::move(other.error_);
  }
  return *this;
}

segment_sink::~segment_sink() {
  close();
}

std::string segment_sink::final_path(std::uint64_t serial) const {
  char number[32];
  std::snprintf(number, sizeof number, "%06llu", static_cast<unsigned long long>(serial));
  return (fs::path(settings_.dir) /
          (settings_.prefix + "-" + number + ".jsonl" + std::string(extension(settings_.compress))))
      .string();
}

bool segment_sink::fail(std::string message) {
  if (error_.empty()) {
    error_ = std::move(message);
    log::error(error_);
  }
  buffer_.clear();
  return false;
}

bool segment_sink::start_segment() {
  // A serial someone else took meanwhile (a second writer in the folder, which the contract
  // does not allow but should not cost records) is skipped: a published file is never replaced.
  std::string part;
  int fd = -1;
  for (int tries = 0; tries < 1000; ++tries) {
    part = final_path(serial_) + std::string(part_suffix);
    if (::access(final_path(serial_).c_str(), F_OK) == 0) {
      ++serial_;
      continue;
    }
    do fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0 || errno != EEXIST) break;
    ++serial_;
  }
  if (fd < 0) return fail("cannot open segment '" + part + "': " + errno_text(errno));
  fd_ = fd;
  segment_bytes_ = 0;
  opened_at_ = std::chrono::steady_clock::now();
  return true;
}

void segment_sink::write_line(std::string_view line) {
  if (failed()) return;
  if (fd_ < 0 && !start_segment()) return;
  const bool needs_newline = line.empty() || line.back() != '\n';
  buffer_.append(line);
  if (needs_newline) buffer_.push_back('\n');
  segment_bytes_ += line.size() + (needs_newline ? 1 : 0);
  ++lines_;
  if (settings_.rotate_bytes > 0 && segment_bytes_ >= settings_.rotate_bytes) {
    close();
  } else if (buffer_.size() >= buffer_capacity) {
    write_out();
  }
}

bool segment_sink::write_out() {
  if (failed()) return false;
  if (buffer_.empty() || fd_ < 0) return true;
  const std::string* out = &buffer_;
  if (settings_.compress != compression::none) {
    packed_.clear();
    if (!append_compressed(settings_.compress, buffer_, packed_)) {
      return fail("cannot compress segment " + final_path(serial_));
    }
    out = &packed_;
  }
  if (!write_all(fd_, out->data(), out->size())) {
    return fail("cannot write segment '" + final_path(serial_) + ".part': " + errno_text(errno));
  }
  buffer_.clear();
  return true;
}

bool segment_sink::flush(std::chrono::steady_clock::time_point now) {
  if (!write_out()) return false;
  if (fd_ >= 0 && settings_.rotate_seconds.count() > 0 &&
      now - opened_at_ >= settings_.rotate_seconds) {
    return close();
  }
  return true;
}

bool segment_sink::sync() {
  if (!write_out()) return false;
  if (fd_ >= 0 && ::fsync(fd_) != 0) {
    return fail("cannot sync segment '" + final_path(serial_) + ".part': " + errno_text(errno));
  }
  return true;
}

bool segment_sink::close() {
  if (fd_ < 0) return !failed();
  const bool written = write_out();
  const std::string final_name = final_path(serial_);
  const std::string part = final_name + std::string(part_suffix);
  // A segment is published only whole and on disk: fsync, then the rename, then the folder.
  bool ok = written && ::fsync(fd_) == 0;
  ::close(fd_);
  fd_ = -1;
  if (!ok) {
    return fail("cannot close segment '" + part + "': " + errno_text(errno));
  }
  if (::rename(part.c_str(), final_name.c_str()) != 0) {
    return fail("cannot publish segment '" + final_name + "': " + errno_text(errno));
  }
  sync_dir(settings_.dir);
  ++serial_;
  ++closed_;
  return true;
}

}  // namespace trawler::sink
