// common/stable_table.hpp: references survive growth (the robots.txt verdict of issue 11 was
// written through a reference into a std::vector that grew meanwhile; under ASan this test
// would report a heap-use-after-free with a vector behind the table).
#include <gtest/gtest.h>

#include <string>

#include "common/stable_table.hpp"

namespace {

struct host_record {
  bool known = false;
  std::string verdict;
  int attempts = 0;
};

TEST(StableTable, ReferenceHeldAcrossGrowthStaysValid) {
  trawler::stable_table<host_record> t;
  host_record& first = t[0];  // as a coroutine holds it across a co_await
  for (std::size_t id = 1; id < 100000; ++id) t[id].attempts = static_cast<int>(id);
  first.known = true;  // written after the table grew 100000-fold
  first.verdict = "disallow /private";
  EXPECT_TRUE(t.at(0).known);
  EXPECT_EQ(t.at(0).verdict, "disallow /private");
  EXPECT_EQ(&t[0], &first);
  EXPECT_EQ(t.at(99999).attempts, 99999);
  EXPECT_EQ(t.size(), 100000u);
}

TEST(StableTable, NewSlotsStartFromTheInitialValue) {
  trawler::stable_table<host_record> t(host_record{false, "unknown", 7});
  EXPECT_FALSE(t.contains(3));
  EXPECT_EQ(t[3].verdict, "unknown");
  EXPECT_EQ(t.at(0).attempts, 7);  // the ids below are created too
  EXPECT_TRUE(t.contains(3));
  EXPECT_THROW(t.at(4), std::out_of_range);
  auto& e = t.emplace_back(host_record{true, "allow", 1});
  EXPECT_EQ(&e, &t.at(4));
}

}  // namespace
