#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/compress.hpp"

// Streams the lines of a JSONL output of any kind trawler writes: a plain file, a gzip or zstd
// segment (a series of members or frames), read in fixed-size pieces, so a file of any size
// needs a few hundred kilobytes (and the longest line) of memory.
namespace trawler::sink {

struct line_read_result {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;  // decompressed bytes of the whole lines
  bool torn_tail = false;   // the file ended inside a line or a member (a crash, or being written)
  std::string error;        // set when the file cannot be read or does not decompress
};

// The compression of a file, by its name (.gz, .zst, optionally before .part), else by its
// first bytes (the gzip and zstd magic numbers).
compression compression_of(const std::string& path);

// Calls on_line for each whole line (without its '\n'); a last line without '\n' is not given.
line_read_result for_each_line(const std::string& path,
                               const std::function<void(std::string_view)>& on_line);

// The output files an argument stands for: itself (a file), or a folder's closed JSONL outputs
// and segments (*.jsonl, *.jsonl.gz, *.jsonl.zst) in name order. `error` is set for a missing
// file or a folder without outputs; `open_parts` counts the folder's .part files (segments
// still being written, left out).
std::vector<std::string> output_files(const std::string& arg, std::string& error,
                                      std::size_t& open_parts);

}  // namespace trawler::sink
