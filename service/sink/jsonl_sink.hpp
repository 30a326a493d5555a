#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Whole-line JSONL output (SPEC "The JSONL record": a reader never sees half a line).
namespace trawler::sink {

enum class open_mode { truncate, append };

// Buffers whole lines and hands them to write(2) in one call of at most ~64 KiB, so a reader,
// or a kill at any moment, sees only complete lines (a partially completed write(2) to a
// regular file needs something like a full disk). Not thread-safe: one owner, the I/O thread.
//
// Lines sit in the buffer until it fills or flush() is called: the owner should flush on a
// timer (a reader of a slow crawl wants to see lines), before saving state, and at shutdown.
class jsonl_sink {
 public:
  static constexpr std::size_t buffer_capacity = 64 * 1024;

  // path "-" is stdout (never closed by the sink). Otherwise the file is created (0644) if
  // missing, and truncated or appended to. In append mode a trailing partial line, which only
  // a crash in the middle of a write can leave, is cut off first so that the next line starts
  // on a line of its own. nullopt with `error` set ("cannot open output 'x': No such file or
  // directory") when the output cannot be written.
  static std::optional<jsonl_sink> open(const std::string& path, open_mode mode,
                                        std::string& error);

  jsonl_sink(jsonl_sink&& other) noexcept;
  jsonl_sink& operator=(jsonl_sink&& other) noexcept;
  jsonl_sink(const jsonl_sink&) = delete;
  jsonl_sink& operator=(const jsonl_sink&) = delete;
  ~jsonl_sink();  // flushes, then closes a file it opened

  // `line` is one JSON line ending with '\n' (one is added when missing). After a write error
  // lines are dropped: see failed().
  void write_line(std::string_view line);

  // Writes the buffered lines. False when the output failed (now or before).
  bool flush();

  // flush() then fsync(2), for state checkpoints: the records a saved state claims are on
  // disk. On a pipe or terminal there is nothing to sync and it returns true.
  bool sync();

  // Lines handed to write(2) successfully (buffered lines are not counted until flushed).
  std::uint64_t lines_written() const noexcept { return lines_written_; }
  // Lines accepted by write_line and not dropped, written or still buffered.
  std::uint64_t lines_accepted() const noexcept { return lines_written_ + buffered_lines_; }

  // True once a write failed (disk full, closed pipe...): the crawl should stop, it cannot
  // record anything any more. error() says why.
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }

  const std::string& path() const noexcept { return path_; }

 private:
  jsonl_sink(int fd, bool owns_fd, std::string path);
  bool write_all(const char* data, std::size_t size);
  void close_fd() noexcept;

  int fd_ = -1;
  bool owns_fd_ = false;
  std::string path_;
  std::string buffer_;
  std::uint64_t buffered_lines_ = 0;
  std::uint64_t lines_written_ = 0;
  std::string error_;
};

}  // namespace trawler::sink
