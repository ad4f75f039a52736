#include "dcsde/run/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace dcsde {
namespace {

std::string human_rate(double per_second) {
  if (per_second >= 1e9) return fmt::format("{:.2f}G", per_second / 1e9);
  if (per_second >= 1e6) return fmt::format("{:.2f}M", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.1f}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

}  // namespace

ProgressReporter::ProgressReporter(std::string label, Mode mode)
    : label_(std::move(label)), mode_(mode), start_(std::chrono::steady_clock::now()) {
  if (mode_ == Mode::kAuto) mode_ = ::isatty(STDERR_FILENO) ? Mode::kBar : Mode::kLog;
}

void ProgressReporter::operator()(std::int64_t done, std::int64_t total) {
  if (mode_ == Mode::kQuiet || finished_ || total <= 0) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  if (mode_ == Mode::kBar) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %3.0f%% %s replica-steps/s ETA %.0fs   ", label_.c_str(),
                 bar.c_str(), 100.0 * fraction, human_rate(rate).c_str(), eta);
    if (done >= total) std::fputc('\n', stderr);
  } else {
    // Quiet log lines: one every 10 s at most, and one at the end.
    if (done < total && seconds - last_log_seconds_ < 10.0) return;
    last_log_seconds_ = seconds;
    std::fprintf(stderr, "[dcsde] %s: %3.0f%% (%s replica-steps/s, %.1fs elapsed, ETA %.0fs)\n",
                 label_.c_str(), 100.0 * fraction, human_rate(rate).c_str(), seconds, eta);
  }
  std::fflush(stderr);
  if (done >= total) finished_ = true;
}

}  // namespace dcsde
