#include "crawl/run_clock.hpp"

namespace trawler::crawl {

void run_clock::start(time_point now) noexcept {
  if (started_) return;
  started_ = true;
  if (!paused_) running_since_ = now;
}

void run_clock::pause(time_point now) noexcept {
  if (paused_ || stopped_) return;
  paused_ = true;
  if (running_since_) {
    if (now > *running_since_) banked_ += now - *running_since_;
    running_since_.reset();
  }
}

void run_clock::resume(time_point now) noexcept {
  if (!paused_ || stopped_) return;
  paused_ = false;
  if (started_) running_since_ = now;
}

void run_clock::stop(time_point now) noexcept {
  if (stopped_) return;
  if (running_since_) {
    if (now > *running_since_) banked_ += now - *running_since_;
    running_since_.reset();
  }
  stopped_ = true;
}

run_clock::duration run_clock::elapsed(time_point now) const noexcept {
  if (running_since_ && now > *running_since_) return banked_ + (now - *running_since_);
  return banked_;
}

}  // namespace trawler::crawl
