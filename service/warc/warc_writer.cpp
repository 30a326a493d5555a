#include "warc/warc_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "common/log.hpp"
#include "common/version.hpp"
#include "sink/compress.hpp"

namespace trawler::warc {

namespace {

constexpr std::string_view final_suffix = ".warc.gz";
constexpr std::string_view part_suffix = ".part";

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string join(const std::string& dir, std::string_view name) {
  std::string p = dir;
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

std::string file_name(const std::string& prefix, std::uint64_t serial) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06llu", static_cast<unsigned long long>(serial));
  return prefix + "-" + digits + std::string(final_suffix);
}

// The serial of "PREFIX-NNNNNN.warc.gz" or "PREFIX-NNNNNN.warc.gz.part"; nullopt for any other
// name. `part` tells which.
std::optional<std::uint64_t> serial_of(std::string_view name, const std::string& prefix,
                                       bool& part) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '-')
    return std::nullopt;
  name.remove_prefix(prefix.size() + 1);
  std::uint64_t serial = 0;
  std::size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') {
    if (digits == 18) return std::nullopt;  // would not fit
    serial = serial * 10 + static_cast<std::uint64_t>(name[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  name.remove_prefix(digits);
  if (name.substr(0, final_suffix.size()) != final_suffix) return std::nullopt;
  name.remove_prefix(final_suffix.size());
  if (name.empty()) {
    part = false;
  } else if (name == part_suffix) {
    part = true;
  } else {
    return std::nullopt;
  }
  return serial;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// fsync of a directory, so that a rename or unlink in it survives a crash.
bool sync_dir(const std::string& dir, std::string& error) {
  int fd;
  do fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    error = "cannot open WARC directory '" + dir + "': " + errno_text(errno);
    return false;
  }
  const bool ok = ::fsync(fd) == 0 || errno == EINVAL;
  if (!ok) error = "WARC directory '" + dir + "': fsync failed: " + errno_text(errno);
  ::close(fd);
  return ok;
}

int open_retry(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do fd = ::open(path, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// Cuts a leftover .part back to its whole gzip members and publishes it under `final_path`
// (or deletes it when no whole member is left). False with `error` set on an I/O error.
// `changed` is set when the directory changed.
bool recover_part(const std::string& part_path, const std::string& final_path, bool& changed,
                  std::string& error) {
  const int fd = open_retry(part_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;  // gone meanwhile
    error = "cannot open WARC file '" + part_path + "': " + errno_text(errno);
    return false;
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    log::warn("WARC file '" + part_path + "' is being written by another process: left alone");
    return true;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "cannot read WARC file '" + part_path + "': " + errno_text(errno);
    return false;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  std::size_t keep = 0;
  if (size > 0) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      error = "cannot read WARC file '" + part_path + "': " + errno_text(errno);
      return false;
    }
    keep = sink::whole_prefix(sink::compression::gzip,
                              std::string_view(static_cast<const char*>(map), size));
    ::munmap(map, size);
  }
  if (keep == 0) {
    if (::unlink(part_path.c_str()) != 0) {
      error = "cannot remove WARC file '" + part_path + "': " + errno_text(errno);
      return false;
    }
    changed = true;
    log::warn("WARC file '" + part_path + "' left by an interrupted run held no whole record (" +
              std::to_string(size) + " bytes): removed");
    return true;
  }
  if (keep < size) {
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0) {
      error = "cannot truncate WARC file '" + part_path + "': " + errno_text(errno);
      return false;
    }
    log::warn("WARC file '" + part_path + "' left by an interrupted run: removed a partial " +
              "last record (" + std::to_string(size - keep) + " bytes)");
  }
  if (::fsync(fd) != 0) {
    error = "WARC file '" + part_path + "': fsync failed: " + errno_text(errno);
    return false;
  }
  if (exists(final_path)) {
    error = "cannot recover WARC file '" + part_path + "': '" + final_path + "' exists";
    return false;
  }
  if (::rename(part_path.c_str(), final_path.c_str()) != 0) {
    error = "cannot rename WARC file '" + part_path + "': " + errno_text(errno);
    return false;
  }
  changed = true;
  log::warn("WARC file '" + part_path + "' left by an interrupted run: published as '" +
            final_path + "' (" + std::to_string(keep) + " bytes)");
  return true;
}

}  // namespace

std::optional<warc_writer> warc_writer::open(settings s, std::string& error) {
  if (s.dir.empty()) {
    error = "cannot open WARC directory: empty path";
    return std::nullopt;
  }
  if (s.prefix.empty() || s.prefix.find('/') != std::string::npos) {
    error = "invalid WARC file prefix '" + s.prefix + "': it must be a non-empty file name";
    return std::nullopt;
  }
  std::error_code ec;
  std::filesystem::create_directories(s.dir, ec);
  if (ec) {
    error = "cannot create WARC directory '" + s.dir + "': " + ec.message();
    return std::nullopt;
  }
  if (s.software.empty()) s.software = std::string("trawler/") + trawler::version;

  DIR* d = ::opendir(s.dir.c_str());
  if (d == nullptr) {
    error = "cannot open WARC directory '" + s.dir + "': " + errno_text(errno);
    return std::nullopt;
  }
  std::uint64_t last = 0;
  std::vector<std::uint64_t> parts;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    bool part = false;
    const auto serial = serial_of(e->d_name, s.prefix, part);
    if (!serial) continue;
    last = std::max(last, *serial);
    if (part) parts.push_back(*serial);
  }
  const int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) {
    error = "cannot read WARC directory '" + s.dir + "': " + errno_text(read_errno);
    return std::nullopt;
  }

  std::sort(parts.begin(), parts.end());
  bool changed = false;
  for (const auto serial : parts) {
    const std::string final_path = join(s.dir, file_name(s.prefix, serial));
    if (!recover_part(final_path + std::string(part_suffix), final_path, changed, error))
      return std::nullopt;
  }
  if (changed && !sync_dir(s.dir, error)) return std::nullopt;
  return warc_writer(std::move(s), last);
}

warc_writer::warc_writer(settings s, std::uint64_t last_serial)
    : s_(std::move(s)), serial_(last_serial), info_id_(new_record_id()) {}

warc_writer::warc_writer(warc_writer&& other) noexcept
    : s_(std::move(other.s_)),
      serial_(other.serial_),
      fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      info_id_(std::move(other.info_id_)),
      buffer_(std::move(other.buffer_)),
      file_size_(std::exchange(other.file_size_, 0)),
      bytes_written_(other.bytes_written_),
      files_closed_(other.files_closed_),
      error_(std::move(other.error_)) {
  other.name_.clear();
  other.buffer_.clear();
}

warc_writer& warc_writer::operator=(warc_writer&& other) noexcept {
  if (this != &other) {
    close();
    release();
    s_ = std::move(other.s_);
    serial_ = other.serial_;
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    other.name_.clear();
    info_id_ = std::move(other.info_id_);
    buffer_ = std::move(other.buffer_);
    other.buffer_.clear();
    file_size_ = std::exchange(other.file_size_, 0);
    bytes_written_ = other.bytes_written_;
    files_closed_ = other.files_closed_;
    error_ = std::move(other.error_);
  }
  return *this;
}

warc_writer::~warc_writer() {
  close();
  release();
}

void warc_writer::release() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  name_.clear();
  buffer_.clear();
  file_size_ = 0;
}

void warc_writer::fail(std::string why) {
  error_ = std::move(why);
  log::error(error_);
  release();  // the .part stays for the next open() to recover
}

bool warc_writer::open_next() {
  // O_EXCL, and a check of the final name: a serial already taken (by a writer sharing the
  // directory and prefix) is skipped, never overwritten.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const std::uint64_t serial = serial_ + 1;
    const std::string name = file_name(s_.prefix, serial);
    const std::string final_path = join(s_.dir, name);
    const std::string part_path = final_path + std::string(part_suffix);
    serial_ = serial;
    if (exists(final_path)) continue;
    const int fd = open_retry(part_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      fail("cannot open WARC file '" + part_path + "': " + errno_text(errno));
      return false;
    }
    ::flock(fd, LOCK_EX | LOCK_NB);  // tells a recovering open() that this file is live
    std::string info =
        build_warcinfo(name, s_.software, s_.info, std::chrono::system_clock::now(), info_id_);
    if (info.empty()) {
      ::close(fd);
      ::unlink(part_path.c_str());
      fail("cannot build the warcinfo record of '" + part_path + "': gzip compression failed");
      return false;
    }
    fd_ = fd;
    name_ = name;
    buffer_ = std::move(info);
    file_size_ = buffer_.size();
    return true;
  }
  fail("cannot open a new WARC file in '" + s_.dir + "': 1000 serials after " +
       std::to_string(serial_ - 1000) + " are taken");
  return false;
}

std::optional<location> warc_writer::write(const built& b) {
  if (failed() || !b.error.empty() || b.bytes.empty()) return std::nullopt;
  // Built for another file: its records would name another warcinfo record.
  if (!b.warcinfo_id.empty() && b.warcinfo_id != info_id_) return std::nullopt;
  if (fd_ < 0 && !open_next()) return std::nullopt;
  location loc{name_, file_size_ + b.response_offset, b.response_length};
  if (buffer_.size() + b.bytes.size() > buffer_capacity && !flush()) return std::nullopt;
  if (b.bytes.size() >= buffer_capacity) {
    if (!write_all(b.bytes.data(), b.bytes.size())) return std::nullopt;
  } else {
    buffer_.append(b.bytes);
  }
  file_size_ += b.bytes.size();
  if (file_size_ >= s_.rotate_bytes && !close()) return std::nullopt;
  return loc;
}

bool warc_writer::flush() {
  if (failed()) return false;
  if (buffer_.empty() || fd_ < 0) return true;
  const bool ok = write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
  if (buffer_.capacity() > 2 * buffer_capacity) buffer_.shrink_to_fit();
  return ok;
}

bool warc_writer::close() {
  if (failed()) return false;
  if (fd_ < 0) return true;
  if (!flush()) return false;
  const std::string final_path = join(s_.dir, name_);
  const std::string part_path = final_path + std::string(part_suffix);
  if (::fsync(fd_) != 0) {
    fail("WARC file '" + part_path + "': fsync failed: " + errno_text(errno));
    return false;
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0 && errno != EINTR) {
    fail("WARC file '" + part_path + "': close failed: " + errno_text(errno));
    return false;
  }
  if (exists(final_path)) {
    fail("cannot publish WARC file '" + part_path + "': '" + final_path + "' exists");
    return false;
  }
  if (::rename(part_path.c_str(), final_path.c_str()) != 0) {
    fail("cannot rename WARC file '" + part_path + "': " + errno_text(errno));
    return false;
  }
  ++files_closed_;
  name_.clear();
  file_size_ = 0;
  info_id_ = new_record_id();  // the next file's
  std::string error;
  if (!sync_dir(s_.dir, error)) {
    fail(error);
    return false;
  }
  return true;
}

bool warc_writer::write_all(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      bytes_written_ += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    fail("cannot write WARC file '" + join(s_.dir, name_) + std::string(part_suffix) +
         "': " + errno_text(n < 0 ? errno : EIO));
    return false;
  }
  return true;
}

}  // namespace trawler::warc
