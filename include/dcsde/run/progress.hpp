// Progress reporting for long runs: a bar with rate and ETA on a terminal, quiet log lines
// (every 10 %) otherwise, nothing when disabled. Used as a Runner ProgressCallback.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dcsde {

class ProgressReporter {
 public:
  enum class Mode { kAuto, kBar, kLog, kQuiet };
  ProgressReporter(std::string label, Mode mode = Mode::kAuto);
  void operator()(std::int64_t done, std::int64_t total);

 private:
  std::string label_;
  Mode mode_;
  std::chrono::steady_clock::time_point start_;
  double last_log_seconds_ = 0.0;
  bool finished_ = false;
};

}  // namespace dcsde
