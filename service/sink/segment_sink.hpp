#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/compress.hpp"

// Rotated JSONL segments for collectors (SPEC additions "Rotated segments"): records go to
// numbered files in a folder, and a file appears under its final name only once it is closed
// and on disk, so whatever a collector sees as records-NNNNNN.jsonl[.gz|.zst] is complete and
// never changes.
namespace trawler::sink {

struct segment_settings {
  std::string dir;
  std::uint64_t rotate_bytes = 0;          // 0: no size limit (record bytes before compression)
  std::chrono::seconds rotate_seconds{0};  // 0: no age limit (from the segment's first record)
  compression compress = compression::none;
  std::string prefix = "records";
};

// One segment file in a folder, as its name tells.
struct segment_file {
  std::uint64_t serial = 0;
  std::string path;
  compression compress = compression::none;
  bool open = false;  // still a .part: being written, or left by a crash
};

// The segments in `dir` named PREFIX-NNNNNN.jsonl[.gz|.zst][.part], by serial. A missing
// folder has none.
std::vector<segment_file> list_segments(const std::string& dir,
                                        const std::string& prefix = "records");

// Reads a closed segment's records (decompressed; a torn tail ignored). False with `error` set
// when the file cannot be read.
bool read_segment(const segment_file& f, std::string& content, std::string& error);

// Writes whole lines into PREFIX-NNNNNN.jsonl[.gz|.zst].part and publishes it (fsync, rename,
// fsync of the folder) when it is closed: when its records reach rotate_bytes, at the first
// flush after it is rotate_seconds old, or by close(). An empty segment is never published.
// Compressed segments are a series of gzip members (zstd frames), one per flush, so a crash
// loses no flushed line. Not thread-safe: one owner, the I/O thread.
class segment_sink {
 public:
  static constexpr std::size_t buffer_capacity = 64 * 1024;

  // Creates the folder if missing. Leftover .part files (a crash) are cut back to their whole
  // lines (members) and published, and numbering goes on after the highest serial there.
  static std::optional<segment_sink> open(segment_settings s, std::string& error);

  segment_sink(segment_sink&& other) noexcept;
  segment_sink& operator=(segment_sink&& other) noexcept;
  segment_sink(const segment_sink&) = delete;
  segment_sink& operator=(const segment_sink&) = delete;
  ~segment_sink();  // close()

  void write_line(std::string_view line);
  // Writes the buffered lines, then closes the segment when it is old enough.
  bool flush(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  bool sync();
  // Publishes the open segment, if any. The next line starts a new one.
  bool close();

  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  const std::string& dir() const noexcept { return settings_.dir; }

  // The serial the next line goes to (the open segment's, else the next one's).
  std::uint64_t next_serial() const noexcept { return serial_; }
  // Files published by open() from a crash's leftovers.
  const std::vector<std::string>& recovered() const noexcept { return recovered_; }
  std::uint64_t segments_closed() const noexcept { return closed_; }
  std::uint64_t lines_accepted() const noexcept { return lines_; }

 private:
  explicit segment_sink(segment_settings s);
  std::string final_path(std::uint64_t serial) const;
  bool start_segment();
  bool write_out();
  bool fail(std::string message);

  segment_settings settings_;
  int fd_ = -1;
  std::uint64_t serial_ = 1;
  std::uint64_t segment_bytes_ = 0;  // record bytes in the open segment, before compression
  std::chrono::steady_clock::time_point opened_at_{};
  std::string buffer_;  // lines not yet written
  std::string packed_;  // their compressed form, reused
  std::vector<std::string> recovered_;
  std::uint64_t closed_ = 0;
  std::uint64_t lines_ = 0;
  std::string error_;
};

}  // namespace trawler::sink
