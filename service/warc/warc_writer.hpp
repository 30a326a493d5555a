#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "warc/warc_record.hpp"

namespace trawler::warc {

// Where a response record went: file is the final basename ("trawler-000001.warc.gz"), offset
// and length those of its gzip member in that file.
struct location {
  std::string file;
  std::uint64_t offset = 0, length = 0;
};

// Appends built records to a series of WARC files PREFIX-NNNNNN.warc.gz in one directory.
//
// A file being written is named PREFIX-NNNNNN.warc.gz.part; close() (or rotation, or the
// destructor) fsyncs it, renames it to its final name and fsyncs the directory, so a file under
// a final name is complete and never changes. Every file starts with a warcinfo record. Every
// record is its own gzip member. A crash leaves a .part file; the next open() of the same
// directory and prefix cuts it back to its whole members and publishes it.
//
// One owner thread (the I/O thread); not thread-safe. Failures are values: after a write
// failure (disk full...) failed() is true, error() says why, nothing more is written, and the
// .part file is left for the next open() to recover.
class warc_writer {
 public:
  struct settings {
    std::string dir;
    std::uint64_t rotate_bytes = 1'000'000'000;  // compressed bytes; a file reaching it closes
    std::string prefix = "trawler";
    std::string software;  // "trawler/VERSION"; empty: this build's
    std::vector<std::pair<std::string, std::string>> info;  // extra warcinfo fields, in order,
                                                            // e.g. {"robots", "obey"}
  };

  // Bytes are buffered up to this much before going to write(2); larger writes go out alone.
  static constexpr std::size_t buffer_capacity = 1 << 20;

  // Creates `dir` (and its parents) when missing. Recovery: every PREFIX-NNNNNN.warc.gz.part in
  // it is cut back to its whole-gzip-member prefix, fsynced and renamed to its final name (one
  // left empty is deleted); a .part another live writer holds (flock) is left alone. Serials
  // continue after the highest one in the directory. nullopt with `error` set ("cannot create
  // WARC directory 'x': ...") when the directory cannot be used.
  static std::optional<warc_writer> open(settings s, std::string& error);

  warc_writer(warc_writer&& other) noexcept;
  warc_writer& operator=(warc_writer&& other) noexcept;
  warc_writer(const warc_writer&) = delete;
  warc_writer& operator=(const warc_writer&) = delete;
  ~warc_writer();  // close()

  // Appends one fetch's records (first starting a new file with its warcinfo record when none
  // is open) and returns where the response record is; the file appears under location.file
  // when it is closed. When the file reaches rotate_bytes it is closed. nullopt after a write
  // failure (error()), and for a `b` whose building failed (b.error) or whose warcinfo_id is not
  // warcinfo_id() (nothing is written, the writer stays usable, error() is not changed).
  std::optional<location> write(const built& b);

  // The WARC-Record-ID of the warcinfo record of the file the next write() goes to: the open
  // file's, or the one the next file will start with. Records built for another file (the file
  // rotated meanwhile) are refused by write(): build them again with this one.
  const std::string& warcinfo_id() const noexcept { return info_id_; }

  // Hands buffered bytes to write(2). False after a failure.
  bool flush();

  // flush, fsync, rename the open file into place (publish), fsync the directory. True when
  // no file is open. The next write() starts the next file.
  bool close();

  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }

  std::uint64_t bytes_written() const noexcept {
    return bytes_written_;
  }                                                                      // compressed bytes,
                                                                         // all files, handed
                                                                         // to write(2)
  std::uint64_t files_closed() const noexcept { return files_closed_; }  // published files

  // The open file's final basename ("" when none is open), and its size including buffered
  // bytes.
  const std::string& current_file() const noexcept { return name_; }
  std::uint64_t current_size() const noexcept { return file_size_; }

 private:
  explicit warc_writer(settings s, std::uint64_t last_serial);
  bool open_next();
  bool write_all(const char* data, std::size_t size);
  void fail(std::string why);
  void release() noexcept;  // closes the fd (no rename): after a failure, or when moved from

  settings s_;
  std::uint64_t serial_ = 0;  // of the open file, or the last one used
  int fd_ = -1;
  std::string name_;     // final basename of the open file
  std::string info_id_;  // the warcinfo record ID of the open file, or of the next one
  std::string buffer_;
  std::uint64_t file_size_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::uint64_t files_closed_ = 0;
  std::string error_;
};

}  // namespace trawler::warc
