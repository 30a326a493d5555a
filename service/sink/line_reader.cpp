#include "sink/line_reader.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace trawler::sink {

namespace {

constexpr std::size_t piece = 256 * 1024;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class fd_reader {
 public:
  explicit fd_reader(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~fd_reader() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_reader(const fd_reader&) = delete;
  fd_reader& operator=(const fd_reader&) = delete;
  bool ok() const { return fd_ >= 0; }
  // Bytes read, 0 at the end, -1 on an error (errno set).
  ssize_t read(char* into, std::size_t n) {
    ssize_t got;
    do got = ::read(fd_, into, n);
    while (got < 0 && errno == EINTR);
    return got;
  }

 private:
  int fd_;
};

// Splits decompressed text into lines, keeping a line that crosses pieces.
class line_splitter {
 public:
  line_splitter(const std::function<void(std::string_view)>& on_line, line_read_result& r)
      : on_line_(on_line), r_(r) {}
  void feed(const char* data, std::size_t n) {
    std::string_view s(data, n);
    while (!s.empty()) {
      const auto nl = s.find('\n');
      if (nl == std::string_view::npos) {
        carry_.append(s);
        return;
      }
      if (carry_.empty()) {
        emit(s.substr(0, nl));
      } else {
        carry_.append(s.substr(0, nl));
        emit(carry_);
        carry_.clear();
      }
      s.remove_prefix(nl + 1);
    }
  }
  bool pending() const { return !carry_.empty(); }

 private:
  void emit(std::string_view line) {
    ++r_.lines;
    r_.bytes += line.size() + 1;
    on_line_(line);
  }
  const std::function<void(std::string_view)>& on_line_;
  line_read_result& r_;
  std::string carry_;
};

std::string os_error(const std::string& path) {
  return "cannot read '" + path + "': " + std::strerror(errno);
}

void read_plain(fd_reader& in, const std::string& path, line_splitter& lines, line_read_result& r) {
  std::vector<char> buf(piece);
  for (;;) {
    const ssize_t n = in.read(buf.data(), buf.size());
    if (n < 0) {
      r.error = os_error(path);
      return;
    }
    if (n == 0) break;
    lines.feed(buf.data(), static_cast<std::size_t>(n));
  }
  r.torn_tail = lines.pending();
}

void read_gzip(fd_reader& in, const std::string& path, line_splitter& lines, line_read_result& r) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) {
    r.error = "cannot read '" + path + "': zlib failed";
    return;
  }
  std::vector<unsigned char> input(piece);
  std::vector<unsigned char> output(piece);
  bool member_open = false;  // inside a member that has not ended yet
  for (;;) {
    const ssize_t n = in.read(reinterpret_cast<char*>(input.data()), input.size());
    if (n < 0) {
      r.error = os_error(path);
      break;
    }
    if (n == 0) break;
    z.next_in = input.data();
    z.avail_in = static_cast<uInt>(n);
    while (z.avail_in > 0) {
      z.next_out = output.data();
      z.avail_out = static_cast<uInt>(output.size());
      const int rc = inflate(&z, Z_NO_FLUSH);
      member_open = true;
      lines.feed(reinterpret_cast<const char*>(output.data()), output.size() - z.avail_out);
      if (rc == Z_STREAM_END) {
        // The next member, if any, starts at once.
        inflateReset(&z);
        member_open = false;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        r.error = "'" + path + "' is not valid gzip: " + (z.msg ? z.msg : "inflate failed");
        inflateEnd(&z);
        return;
      }
    }
  }
  // Output still buffered inside zlib for the last member.
  for (int rc = Z_OK; member_open && rc == Z_OK;) {
    z.next_out = output.data();
    z.avail_out = static_cast<uInt>(output.size());
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = output.size() - z.avail_out;
    lines.feed(reinterpret_cast<const char*>(output.data()), got);
    if (rc == Z_STREAM_END) member_open = false;
    if (got == 0) break;
  }
  inflateEnd(&z);
  r.torn_tail = member_open || lines.pending();
}

void read_zstd(fd_reader& in, const std::string& path, line_splitter& lines, line_read_result& r) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) {
    r.error = "cannot read '" + path + "': zstd failed";
    return;
  }
  std::vector<char> input(piece);
  std::vector<char> output(ZSTD_DStreamOutSize());
  std::size_t last = 0;  // 0: between frames
  for (;;) {
    const ssize_t n = in.read(input.data(), input.size());
    if (n < 0) {
      r.error = os_error(path);
      return;
    }
    if (n == 0) break;
    ZSTD_inBuffer src{input.data(), static_cast<std::size_t>(n), 0};
    while (src.pos < src.size) {
      ZSTD_outBuffer dst{output.data(), output.size(), 0};
      last = ZSTD_decompressStream(ctx.get(), &dst, &src);
      if (ZSTD_isError(last)) {
        r.error = "'" + path + "' is not valid zstd: " + ZSTD_getErrorName(last);
        return;
      }
      lines.feed(output.data(), dst.pos);
    }
  }
  // A frame not ended yet may still have output inside the decoder.
  while (last != 0) {
    ZSTD_inBuffer src{nullptr, 0, 0};
    ZSTD_outBuffer dst{output.data(), output.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(ctx.get(), &dst, &src);
    if (ZSTD_isError(rc)) break;
    lines.feed(output.data(), dst.pos);
    last = rc;
    if (dst.pos == 0) break;
  }
  r.torn_tail = last != 0 || lines.pending();
}

}  // namespace

compression compression_of(const std::string& path) {
  std::string_view name = path;
  if (ends_with(name, ".part")) name.remove_suffix(5);
  if (ends_with(name, ".gz")) return compression::gzip;
  if (ends_with(name, ".zst")) return compression::zstd;
  fd_reader in(path);
  unsigned char magic[4] = {};
  if (in.ok() && in.read(reinterpret_cast<char*>(magic), sizeof magic) == 4) {
    if (magic[0] == 0x1f && magic[1] == 0x8b) return compression::gzip;
    if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
      return compression::zstd;
    }
  }
  return compression::none;
}

line_read_result for_each_line(const std::string& path,
                               const std::function<void(std::string_view)>& on_line) {
  line_read_result r;
  const compression c = compression_of(path);
  fd_reader in(path);
  if (!in.ok()) {
    r.error = os_error(path);
    return r;
  }
  line_splitter lines(on_line, r);
  switch (c) {
    case compression::gzip:
      read_gzip(in, path, lines, r);
      break;
    case compression::zstd:
      read_zstd(in, path, lines, r);
      break;
    case compression::none:
      read_plain(in, path, lines, r);
      break;
  }
  return r;
}

namespace {

bool is_output_file(const std::string& name) {
  for (const std::string_view ext : {".jsonl", ".jsonl.gz", ".jsonl.zst"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> output_files(const std::string& arg, std::string& error,
                                      std::size_t& open_parts) {
  namespace fs = std::filesystem;
  open_parts = 0;
  std::error_code ec;
  if (!fs::is_directory(arg, ec)) {
    if (!fs::exists(arg, ec)) error = "cannot read '" + arg + "': No such file or directory";
    return {arg};
  }
  std::vector<std::string> files;
  for (fs::directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file(ec)) continue;
    if (is_output_file(name)) files.push_back(it->path().string());
    if (name.ends_with(".part")) ++open_parts;
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    error = "'" + arg + "' holds no JSONL output (*.jsonl, *.jsonl.gz, *.jsonl.zst)";
  return files;
}

}  // namespace trawler::sink
