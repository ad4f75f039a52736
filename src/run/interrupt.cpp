#include "dcsde/run/interrupt.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

namespace dcsde {
namespace fs = std::filesystem;
namespace {

// Leaked on purpose: the helper thread may still use them while static destructors run at exit.
std::mutex& output_mutex() {
  static auto* m = new std::mutex;
  return *m;
}

struct Registered {
  fs::path path;
  bool announce;
};
struct Registry {
  std::mutex mutex;
  std::vector<Registered> paths;
  std::vector<std::string> notes;
};
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int signal) { forward_interrupt(signal); }

void say(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0 && errno != EINTR) return;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
}

// Removes a folder or file; retried because a child process (the plotting script) may create a
// file in the folder between the listing and the removal of the folder itself.
bool remove_path(const fs::path& path) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (!ec && !fs::exists(fs::symlink_status(path, ec))) return true;
  }
  return false;
}

[[noreturn]] void stop(int signal) {
  // Held until _exit: a write in progress finishes first, and none can start after the removal.
  auto outputs = lock_outputs();
  std::vector<Registered> paths;
  std::vector<std::string> notes;
  {
    std::lock_guard<std::mutex> guard(registry().mutex);
    paths = registry().paths;
    notes = registry().notes;
  }
  std::string message = ::isatty(STDERR_FILENO) ? "\n" : "";
  message += std::string("dcsde: interrupted by SIG") + sigabbrev_np(signal);
  // Latest first: a staging folder goes before the lock that guards it.
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    const bool removed = remove_path(it->path);
    if (it->announce)
      message +=
          (removed ? "; removed the unfinished " : "; could not remove ") + it->path.string();
  }
  message += "\n";
  for (const std::string& note : notes) message += "dcsde: " + note + "\n";
  say(message);
  ::_exit(128 + signal);
}

void wait_for_signal() {
  unsigned char byte = 0;
  for (;;) {
    const ssize_t n = ::read(signal_pipe[0], &byte, 1);
    if (n == 1) stop(byte);
    if (n == 0 || (n < 0 && errno != EINTR)) return;  // the pipe is gone: nothing to wait for
  }
}

}  // namespace

void install_interrupt_handlers() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  if (::pipe2(signal_pipe, O_CLOEXEC) != 0) return;  // without the pipe, the defaults stay
  std::thread(wait_for_signal).detach();
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // the interrupted system calls of other threads go on
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
}

bool forward_interrupt(int signal) noexcept {
  if (signal_pipe[1] < 0) return false;
  const int saved = errno;  // the interrupted code may be about to read errno
  const unsigned char byte = static_cast<unsigned char>(signal);
  const bool sent = ::write(signal_pipe[1], &byte, 1) == 1;
  errno = saved;
  return sent;
}

std::unique_lock<std::mutex> lock_outputs() { return std::unique_lock<std::mutex>(output_mutex()); }

RemoveOnInterrupt::RemoveOnInterrupt(fs::path path, bool announce) : path_(std::move(path)) {
  std::lock_guard<std::mutex> guard(registry().mutex);
  registry().paths.push_back({path_, announce});
  registered_ = true;
}

RemoveOnInterrupt::~RemoveOnInterrupt() { release(); }

void RemoveOnInterrupt::release() {
  if (!registered_) return;
  std::lock_guard<std::mutex> guard(registry().mutex);
  auto& paths = registry().paths;
  const auto it = std::find_if(paths.rbegin(), paths.rend(),
                               [&](const Registered& r) { return r.path == path_; });
  if (it != paths.rend()) paths.erase(std::next(it).base());
  registered_ = false;
}

InterruptNote::InterruptNote(std::string note) {
  std::lock_guard<std::mutex> guard(registry().mutex);
  registry().notes.push_back(std::move(note));
}

InterruptNote::~InterruptNote() {
  std::lock_guard<std::mutex> guard(registry().mutex);
  registry().notes.pop_back();  // notes nest with the scopes that made them
}

}  // namespace dcsde
