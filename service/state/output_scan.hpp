#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trawler::state {

struct output_scan {
  // URLs with a record, in file order (a URL may repeat). Records whose error kind is
  // `cancelled` are left out: those URLs are fetched again (SPEC "More edges").
  std::vector<std::string> recorded;
  // Of those, the records with an HTTP status: what scope.max_pages counts.
  std::uint64_t responses = 0;
  // Non-blank lines that are not a JSON object with a string `url` (skipped).
  std::size_t invalid_lines = 0;
  // Bytes after the last '\n' that were cut off the file (a line torn by a crash).
  std::uint64_t truncated_bytes = 0;
};

// Scans a JSONL output after a crash and truncates a torn last line, so that appending goes on
// at a line boundary. The torn line's URL is not in `recorded`: it is no longer in the file.
// A missing file is an empty output (no error). On a read or truncate failure `error` is set
// and the result is empty.
//
// Lines in the layout trawler writes ({"url":"...","status":...,"error":...} first, '}' last)
// are read without a full parse, which keeps a million lines well under a second; any other
// line is parsed as JSON.
//
// cut_torn_line false: the file is only read (an earlier run's output, which this run does not
// append to); a torn last line is then left in place and not counted.
output_scan scan_output(const std::string& path, std::string& error, bool cut_torn_line = true);

// The same scan of records already in memory (a decompressed segment), added to `out`; text
// after the last '\n' is not a line and is ignored.
void scan_lines(std::string_view content, output_scan& out);

}  // namespace trawler::state
