#include "sink/jsonl_sink.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/log.hpp"

namespace trawler::sink {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

// Cuts a partial last line (no trailing '\n') left by a crash in the middle of a write, so the
// lines appended next are not glued to it. Returns the bytes removed; -1 on a read error.
off_t drop_partial_last_line(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return 0;
  char chunk[4096];
  off_t end = st.st_size;
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof chunk) ? end - sizeof chunk : 0;
    const auto want = static_cast<std::size_t>(end - start);
    ssize_t got;
    do got = ::pread(fd, chunk, want, start);
    while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(want)) return -1;
    for (std::size_t i = want; i-- > 0;) {
      if (chunk[i] == '\n') {
        const off_t keep = start + static_cast<off_t>(i) + 1;
        if (keep == st.st_size) return 0;
        if (::ftruncate(fd, keep) != 0) return -1;
        return st.st_size - keep;
      }
    }
    end = start;
  }
  if (::ftruncate(fd, 0) != 0) return -1;
  return st.st_size;
}

}  // namespace

std::optional<jsonl_sink> jsonl_sink::open(const std::string& path, open_mode mode,
                                           std::string& error) {
  if (path == "-") {
    if (::fcntl(STDOUT_FILENO, F_GETFL) < 0) {
      error = "cannot write output to stdout: " + errno_text(errno);
      return std::nullopt;
    }
    return jsonl_sink(STDOUT_FILENO, false, path);
  }
  if (path.empty()) {
    error = "cannot open output: empty path";
    return std::nullopt;
  }
  int fd;
  if (mode == open_mode::truncate) {
    do fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
  } else {
    // Read access is only for checking the last line; O_APPEND keeps every write at the end.
    do fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
      const off_t dropped = drop_partial_last_line(fd);
      if (dropped > 0)
        log::warn("output '" + path + "': removed a partial last line (" + std::to_string(dropped) +
                  " bytes) left by an interrupted run");
      else if (dropped < 0)
        log::warn("output '" + path + "': could not check its last line: " + errno_text(errno));
    } else if (errno == EACCES) {
      do fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      while (fd < 0 && errno == EINTR);
    }
  }
  if (fd < 0) {
    error = "cannot open output '" + path + "': " + errno_text(errno);
    return std::nullopt;
  }
  return jsonl_sink(fd, true, path);
}

jsonl_sink::jsonl_sink(int fd, bool owns_fd, std::string path)
    : fd_(fd), owns_fd_(owns_fd), path_(std::move(path)) {
  buffer_.reserve(buffer_capacity);
}

jsonl_sink::jsonl_sink(jsonl_sink&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      owns_fd_(std::exchange(other.owns_fd_, false)),
      path_(std::move(other.path_)),
      buffer_(std::move(other.buffer_)),
      buffered_lines_(std::exchange(other.buffered_lines_, 0)),
      lines_written_(std::exchange(other.lines_written_, 0)),
      error_(std::move(other.error_)) {
  other.buffer_.clear();
}

jsonl_sink& jsonl_sink::operator=(jsonl_sink&& other) noexcept {
  if (this != &other) {
    flush();
    close_fd();
    fd_ = std::exchange(other.fd_, -1);
    owns_fd_ = std::exchange(other.owns_fd_, false);
    path_ = std::move(other.path_);
    buffer_ = std::move(other.buffer_);
    other.buffer_.clear();
    buffered_lines_ = std::exchange(other.buffered_lines_, 0);
    lines_written_ = std::exchange(other.lines_written_, 0);
    error_ = std::move(other.error_);
  }
  return *this;
}

jsonl_sink::~jsonl_sink() {
  flush();
  close_fd();
}

void jsonl_sink::close_fd() noexcept {
  if (fd_ >= 0 && owns_fd_ && ::close(fd_) != 0 && error_.empty())
    log::error("output '" + path_ + "': close failed: " + errno_text(errno));
  fd_ = -1;
  owns_fd_ = false;
}

void jsonl_sink::write_line(std::string_view line) {
  if (failed() || fd_ < 0) return;
  const bool needs_newline = line.empty() || line.back() != '\n';
  const std::size_t size = line.size() + (needs_newline ? 1 : 0);
  if (buffer_.size() + size > buffer_capacity && !flush()) return;
  if (size > buffer_capacity) {
    // A huge line (a page with 100,000 links) goes out alone, still in one write call.
    if (needs_newline) {
      std::string whole;
      whole.reserve(size);
      whole.append(line).push_back('\n');
      if (write_all(whole.data(), whole.size())) ++lines_written_;
    } else if (write_all(line.data(), line.size())) {
      ++lines_written_;
    }
    return;
  }
  buffer_.append(line);
  if (needs_newline) buffer_.push_back('\n');
  ++buffered_lines_;
}

bool jsonl_sink::flush() {
  if (failed()) return false;
  if (buffer_.empty() || fd_ < 0) return true;
  const bool ok = write_all(buffer_.data(), buffer_.size());
  if (ok) lines_written_ += buffered_lines_;
  buffer_.clear();
  buffered_lines_ = 0;
  return ok;
}

bool jsonl_sink::sync() {
  if (!flush()) return false;
  if (fd_ < 0) return true;
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
    // EINVAL/EROFS: a pipe, a terminal or /dev/null, nothing to make durable.
    error_ = "output '" + path_ + "': fsync failed: " + errno_text(errno);
    log::error(error_);
    return false;
  }
  return true;
}

bool jsonl_sink::write_all(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // stdout may be a non-blocking pipe shared with another process: wait until it drains.
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    error_ = "cannot write output '" + path_ + "': " + errno_text(n < 0 ? errno : EIO);
    log::error(error_);
    return false;
  }
  return true;
}

}  // namespace trawler::sink
