// Clean stops on SIGINT, SIGTERM and SIGHUP: the unfinished results are removed, a message says
// so, and the process exits with 128 + the signal (130, 143, 129).
//
// The handlers only write the signal's number to a pipe (async-signal-safe). A helper thread
// reads it and does the cleanup in ordinary thread context: it takes the output lock, so it never
// races a file being written, removes every registered path, prints the message and calls
// _exit while still holding the lock, so no write can follow the removal. The compute threads
// need not poll anything: a stop is immediate even in the middle of a long block of steps. The
// handlers are reset to the default in child processes at exec (the plotting script), and the
// pipe is close-on-exec.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

namespace dcsde {

// Installs the handlers and starts the helper thread; call once, early in main, before other
// threads (OpenMP, MPI, LibTorch) start. A second call does nothing.
void install_interrupt_handlers();

// Hands `signal` to the cleanup above, from another signal handler that has said its part
// (dist/session.cpp's SIGTERM handler names the step a rank stopped at). Async-signal-safe;
// false when the handlers are not installed (then the caller applies the default action).
bool forward_interrupt(int signal) noexcept;

// Held while files or folders are created under a path registered below; the interruption
// thread takes it before removing them. Not recursive: never held across another call to it.
std::unique_lock<std::mutex> lock_outputs();

// Registers `path` (a folder or a file) to be removed if the process is interrupted, until this
// object is destroyed or release() is called; the latest registered is removed first. The
// interruption message names the removed paths that `announce`. Cheap; any thread.
class RemoveOnInterrupt {
 public:
  explicit RemoveOnInterrupt(std::filesystem::path path, bool announce = true);
  ~RemoveOnInterrupt();
  RemoveOnInterrupt(const RemoveOnInterrupt&) = delete;
  RemoveOnInterrupt& operator=(const RemoveOnInterrupt&) = delete;
  void release();

 private:
  std::filesystem::path path_;
  bool registered_ = false;
};

// A line printed after the interruption message while this object lives, e.g. how to resume
// from the checkpoints that the interruption keeps.
class InterruptNote {
 public:
  explicit InterruptNote(std::string note);
  ~InterruptNote();
  InterruptNote(const InterruptNote&) = delete;
  InterruptNote& operator=(const InterruptNote&) = delete;
};

}  // namespace dcsde
