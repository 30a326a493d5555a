#pragma once

#include <cstdint>

namespace trawler {

// Cluster mode: the crawl-wide counts in Redis as a worker last read them. One type for the
// frontier that reads them, the stats that carry them and the metrics that show them.
struct fleet_counts {
  std::int64_t seen = 0;         // URLs admitted crawl-wide
  std::int64_t queued = 0;       // in the shared queues
  std::int64_t claimed = 0;      // taken by a worker, not yet done
  std::int64_t workers = 0;      // alive
  std::int64_t hosts_owned = 0;  // under a lease
  std::int64_t pages = 0;        // of the crawl-wide page budget, spent
  std::int64_t owned_here = 0;   // hosts this worker holds
  std::int64_t revisits = 0;     // recrawl: visited URLs waiting for their next visit
  bool operator==(const fleet_counts&) const = default;
};

}  // namespace trawler
