#pragma once

#include <cstddef>
#include <deque>
#include <utility>

namespace trawler {

// A table indexed by a dense id (a host id, a crawl's slot) whose elements never move: a
// reference taken from it stays valid however many ids are added later. Per-host records are
// read and written by coroutines that suspend (a robots.txt fetch, a page fetch); while one
// waits, another registers a new host. With a std::vector behind it, that growth moved every
// record and the waiting coroutine wrote its verdict into freed memory. Every per-host or
// per-crawl table that code may hold a reference into across a co_await or a callback is a
// stable_table, so that mistake cannot be written again.
//
// std::deque keeps references (not iterators) valid when it grows at the end, which is the
// only way this table grows. Elements are never removed.
template <class T>
class stable_table {
 public:
  stable_table() = default;
  // New slots start as copies of `initial`.
  explicit stable_table(T initial) : initial_(std::move(initial)) {}

  // The element for `id`, created (with every id below it) when missing.
  T& operator[](std::size_t id) {
    while (items_.size() <= id) items_.push_back(initial_);
    return items_[id];
  }
  // Only ids below size(): no creation.
  const T& at(std::size_t id) const { return items_.at(id); }
  T& at(std::size_t id) { return items_.at(id); }

  std::size_t size() const noexcept { return items_.size(); }
  bool contains(std::size_t id) const noexcept { return id < items_.size(); }

  // Appends an element; its id is the previous size().
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }

  auto begin() noexcept { return items_.begin(); }
  auto end() noexcept { return items_.end(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }

 private:
  T initial_{};
  std::deque<T> items_;
};

}  // namespace trawler
