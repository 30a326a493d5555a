#pragma once

#include <chrono>
#include <optional>

namespace trawler::crawl {

// A crawl's own time: what its `elapsed_s` and pages per second count. It runs from start()
// to stop(), less every interval between a pause() and the resume() after it, so a paused
// crawl's clock stands still. Pure: every call is given the time, so a test drives it with a
// fake clock.
class run_clock {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  // The crawl starts (counting from `now` unless it is paused already). A second start is
  // ignored.
  void start(time_point now) noexcept;
  // Idempotent: pausing a paused clock changes nothing, nor resuming a running one. A pause
  // before start() keeps the clock still from its start on.
  void pause(time_point now) noexcept;
  void resume(time_point now) noexcept;
  // The crawl ended: the clock stops for good.
  void stop(time_point now) noexcept;

  // Running time so far (at `now`), paused intervals left out.
  duration elapsed(time_point now) const noexcept;
  bool paused() const noexcept { return paused_; }
  bool started() const noexcept { return started_; }
  bool stopped() const noexcept { return stopped_; }

 private:
  duration banked_{0};                       // time counted up to the last pause
  std::optional<time_point> running_since_;  // set while it runs
  bool started_ = false;
  bool stopped_ = false;
  bool paused_ = false;
};

}  // namespace trawler::crawl
