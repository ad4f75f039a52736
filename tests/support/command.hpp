// Running the built dcsde executable from a test, as a user would (tests/cli, tests/torch).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

namespace dcsde::testing {

struct CommandResult {
  int status;          // exit status (WEXITSTATUS)
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; collects its output and exit status.
inline CommandResult run_command(const std::string& command_line) {
  CommandResult r{0, ""};
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed: " + command_line};
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe)) r.output += buffer;
  r.status = WEXITSTATUS(pclose(pipe));
  return r;
}

// `dcsde ARGS` with the executable of this build.
inline CommandResult run_dcsde(const std::string& args) {
  return run_command(std::string(DCSDE_BINARY) + " " + args);
}

// A command started in the background (`sh -c 'exec COMMAND'`, so its PID is the command's),
// its output in `log`; for tests that signal a run or start a second one beside it.
class BackgroundCommand {
 public:
  BackgroundCommand(const std::string& command_line, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string shell = "exec " + command_line + " > '" + log + "' 2>&1";
      ::execl("/bin/sh", "sh", "-c", shell.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~BackgroundCommand() {
    if (running_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal_number) const { ::kill(pid_, signal_number); }
  // Waits for the end: the exit status, or 128 + the signal that ended it.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    running_ = false;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool running() {
    if (!running_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) running_ = false;
    return running_;
  }

 private:
  pid_t pid_ = -1;
  bool running_ = true;
};

// Polls `condition` every 10 ms for up to `seconds`; whether it became true.
inline bool eventually(const std::function<bool()>& condition, double seconds = 60.0) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace dcsde::testing
